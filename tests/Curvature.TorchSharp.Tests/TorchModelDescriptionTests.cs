using Curvature.Kfac;
using Curvature.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests;

public class TorchModelDescriptionTests
{
    [Fact]
    public void Layers_AreNamedAndOrderedAsPyTorchNamesTheirParameters()
    {
        var model = nn.Sequential(
            ("stem", nn.Sequential(("conv", nn.Conv2d(3, 8, 3, padding: 1)), ("bn", nn.BatchNorm2d(8)), ("act", nn.ReLU()))),
            ("flat", nn.Flatten()),
            ("head", nn.Sequential(("fc", nn.Linear(8 * 4 * 4, 16)), ("ln", nn.LayerNorm(16)), ("out", nn.Linear(16, 3, hasBias: false)))));

        var d = TorchModelDescription.Describe(model);

        Assert.Equal(["stem.conv", "stem.bn", "head.fc", "head.ln", "head.out"], d.Layers.Select(l => l.Name));
        Assert.Equal([TorchLayerKind.Conv2d, TorchLayerKind.BatchNorm2d, TorchLayerKind.Linear, TorchLayerKind.LayerNorm, TorchLayerKind.Linear], d.Layers.Select(l => l.Kind));
        Assert.Empty(d.GenericParameters);

        // Parameter order of the K-FAC layers = named_parameters() order restricted to them.
        var kfac = d.ToKfacModel();
        var kfacNames = kfac.Parameters.Select(p => p.Name).ToList();
        var torchNames = model.named_parameters().Select(p => p.name).Where(kfacNames.Contains).ToList();
        Assert.Equal(torchNames, kfacNames);
        foreach (var p in kfac.Parameters)
        {
            var tp = model.named_parameters().Single(t => t.name == p.Name).parameter;
            Assert.Equal(tp.shape.Select(x => (int)x), p.Shape);
        }
    }

    [Fact]
    public void Conv2d_GeometryAndBias_AreRead()
    {
        var model = nn.Sequential(
            ("a", nn.Conv2d(4, 6, (3, 2), stride: (2, 1), padding: (1, 0), dilation: (1, 2), bias: false)),
            ("b", nn.Conv2d(6, 6, 3, groups: 3)),
            ("c", nn.Conv2d(6, 2, 5, padding: Padding.Same)));

        var d = TorchModelDescription.Describe(model);

        var a = d.Layer("a");
        Assert.False(a.HasBias);
        Assert.Equal(new Layers.Conv2dGeometry(4, 6, 3, 2, 2, 1, 1, 0, 1, 2, 1), a.Convolution);
        Assert.Equal([6, 4, 3, 2], a.WeightShape);
        Assert.True(a.IsKfacLayer);
        var b = d.Layer("b");
        Assert.Equal(3, b.Convolution!.Groups);
        Assert.True(b.IsKfacLayer);
        Assert.Equal(b.Convolution.PatchSize, b.ToKfacLayer().WeightInputSize);
        var c = d.Layer("c");
        Assert.Equal((2, 2), (c.Convolution!.PaddingHeight, c.Convolution.PaddingWidth));
        Assert.True(c.HasBias);
        Assert.Equal(["a", "b", "c"], d.ToKfacModel().Layers.Select(l => l.Name));
    }

    [Fact]
    public void NormAndEmbeddingLayers_AreDescribed()
    {
        var model = nn.Sequential(("emb", nn.Embedding(100, 12)), ("ln", nn.LayerNorm([4, 12], eps: 1e-3)), ("bn", nn.BatchNorm1d(4, eps: 1e-4, track_running_stats: false)));

        var d = TorchModelDescription.Describe(model);

        var emb = d.Layer("emb");
        Assert.Equal((TorchLayerKind.Embedding, 100, 12, false), (emb.Kind, emb.InputSize, emb.OutputSize, emb.HasBias));
        var ln = d.Layer("ln");
        Assert.Equal((48, 1e-3, true), (ln.InputSize, ln.Epsilon, ln.HasBias));
        Assert.Equal([4, 12], ln.NormalizedShape);
        var bn = d.Layer("bn");
        Assert.Equal((TorchLayerKind.BatchNorm1d, 4, 1e-4, false), (bn.Kind, bn.InputSize, bn.Epsilon, bn.TrackRunningStatistics));
    }

    [Fact]
    public void OtherTrainableParameters_AreGenericWithAReason_FrozenOnesAreLeftOut()
    {
        var frozen = nn.Linear(3, 3);
        frozen.weight!.requires_grad = false;
        frozen.bias!.requires_grad = false;
        var frozenWeight = nn.Linear(3, 3);
        frozenWeight.weight!.requires_grad = false;
        var model = nn.Sequential(
            ("conv1d", nn.Conv1d(2, 3, 3)),
            ("reflect", nn.Conv2d(3, 3, 3, padding: 1, padding_mode: PaddingModes.Reflect)),
            ("shiftOnly", nn.LayerNorm(3, elementwise_affine: true)),
            ("frozen", frozen),
            ("frozenWeight", frozenWeight),
            ("fc", nn.Linear(3, 1)));
        ((global::TorchSharp.Modules.LayerNorm)model.named_children().Single(c => c.name == "shiftOnly").module).weight!.requires_grad = false;

        var d = TorchModelDescription.Describe(model);

        Assert.Equal(["fc"], d.Layers.Select(l => l.Name));
        Assert.Equal(["conv1d.weight", "conv1d.bias", "reflect.weight", "reflect.bias", "shiftOnly.bias", "frozenWeight.bias"], d.GenericParameters.Select(p => p.Name));
        Assert.Contains("Conv1d is not a supported layer type", d.GenericParameters[0].Reason);
        Assert.Contains("padding mode Reflect", d.GenericParameters[2].Reason);
        Assert.Contains("without a learnable scale", d.GenericParameters[4].Reason);
        Assert.Contains("frozen", d.GenericParameters[5].Reason);
        Assert.Equal([3, 2, 3], d.GenericParameters[0].Shape);
    }

    [Fact]
    public void AModuleThatIsItselfALayer_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchModelDescription.Describe(nn.Linear(2, 2)));
        Assert.Contains("wrap it in nn.Sequential", e.Message);
    }

    [Fact]
    public void KfacModel_OfAModelWithoutKfacLayers_IsRefused()
    {
        var d = TorchModelDescription.Describe(nn.Sequential(("ln", nn.LayerNorm(3))));
        Assert.Throws<InvalidOperationException>(() => d.ToKfacModel());
        Assert.Throws<KeyNotFoundException>(() => d.Layer("nope"));
    }

    [Fact]
    public void KfacLayer_MatchesAHandWrittenDescription()
    {
        var d = TorchModelDescription.Describe(nn.Sequential(("0", nn.Linear(5, 4)), ("1", nn.Linear(4, 3, hasBias: false))));
        var expected = new ModelSpec([LayerSpec.Linear("0", 5, 4), LayerSpec.Linear("1", 4, 3, bias: false)], separateWeightAndBias: true);
        var actual = d.ToKfacModel(separateWeightAndBias: true);
        Assert.Equal(expected.Parameters.Select(p => (p.Name, p.Offset, p.Length)), actual.Parameters.Select(p => (p.Name, p.Offset, p.Length)));
        Assert.Equal(expected.Blocks.Count, actual.Blocks.Count);
    }
}
