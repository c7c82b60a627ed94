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

        // The model description holds every parameter, in named_parameters() order, with its shape.
        var spec = d.ToModelSpec();
        Assert.Equal([LayerKind.Conv2d, LayerKind.BatchNorm, LayerKind.Linear, LayerKind.LayerNorm, LayerKind.Linear], spec.Layers.Select(l => l.Kind));
        Assert.Equal(model.named_parameters().Select(p => p.name), spec.Parameters.Select(p => p.Name));
        foreach (var p in spec.Parameters)
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
        var b = d.Layer("b");
        Assert.Equal(3, b.Convolution!.Groups);
        Assert.Equal(b.Convolution.PatchSize, b.ToLayerSpec().WeightInputSize);
        Assert.Equal([6, 2, 3, 3], b.ToLayerSpec().WeightShape.ToArray());
        var c = d.Layer("c");
        Assert.Equal((2, 2), (c.Convolution!.PaddingHeight, c.Convolution.PaddingWidth));
        Assert.True(c.HasBias);
        Assert.Equal(["a", "b", "c"], d.ToModelSpec().Layers.Select(l => l.Name));
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

        // As Curvature layers: the LayerNorm scale over its 48 features (the [4, 12] weight taken flat).
        var spec = d.ToModelSpec();
        Assert.Equal([(LayerKind.Embedding, 100, 12), (LayerKind.LayerNorm, 0, 48), (LayerKind.BatchNorm, 0, 4)], spec.Layers.Select(l => (l.Kind, l.WeightInputSize, l.OutputSize)));
        Assert.Equal([("emb.weight", 1200), ("ln.weight", 48), ("ln.bias", 48), ("bn.weight", 4), ("bn.bias", 4)], spec.Parameters.Select(p => (p.Name, p.Length)));
        Assert.Equal([48], spec.Parameters[1].Shape);
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

        // In the model description every generic parameter is a plain parameter, in named_parameters() order.
        var spec = d.ToModelSpec();
        Assert.Equal(["conv1d.weight", "conv1d.bias", "reflect.weight", "reflect.bias", "shiftOnly.bias", "frozenWeight.bias", "fc"], spec.Layers.Select(l => l.Name));
        Assert.All(spec.Layers.Take(6), l => Assert.Equal(LayerKind.Parameter, l.Kind));
        Assert.Equal(LayerKind.Linear, spec.Layers[6].Kind);
        Assert.Equal(model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name), spec.Parameters.Select(p => p.Name));
        Assert.Equal([3, 2, 3], spec.Parameters[0].Shape);
    }

    [Fact]
    public void AModuleThatIsItselfALayer_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchModelDescription.Describe(nn.Linear(2, 2)));
        Assert.Contains("wrap it in nn.Sequential", e.Message);
    }

    [Fact]
    public void AModelWithoutTrainableParameters_IsRefused()
    {
        var frozen = nn.Linear(3, 3);
        frozen.weight!.requires_grad = false;
        frozen.bias!.requires_grad = false;
        var d = TorchModelDescription.Describe(nn.Sequential(("0", frozen), ("1", nn.ReLU())));
        Assert.Throws<InvalidOperationException>(() => d.ToModelSpec());
        Assert.Throws<KeyNotFoundException>(() => d.Layer("nope"));
    }

    [Fact]
    public void ModelSpec_MatchesAHandWrittenDescription()
    {
        var model = nn.Sequential(
            ("emb", nn.Embedding(10, 4)), ("0", nn.Linear(4, 4)), ("bn", nn.BatchNorm1d(3)), ("ln", nn.LayerNorm(4, bias: false)),
            ("conv", nn.Conv1d(3, 2, 1)), ("1", nn.Linear(4, 3, hasBias: false)));
        var d = TorchModelDescription.Describe(model);
        var expected = new ModelSpec(
            [LayerSpec.Embedding("emb", 10, 4), LayerSpec.Linear("0", 4, 4), LayerSpec.BatchNorm("bn", 3), LayerSpec.LayerNorm("ln", 4, bias: false),
             LayerSpec.Parameter("conv.weight", 2, 3, 1), LayerSpec.Parameter("conv.bias", 2), LayerSpec.Linear("1", 4, 3, bias: false)],
            separateWeightAndBias: true);
        var actual = d.ToModelSpec(separateWeightAndBias: true);
        Assert.Equal(expected.Layers.Select(l => l.ToString()), actual.Layers.Select(l => l.ToString()));
        Assert.Equal(expected.Parameters.Select(p => (p.Name, p.Offset, p.Length, string.Join("x", p.Shape))), actual.Parameters.Select(p => (p.Name, p.Offset, p.Length, string.Join("x", p.Shape))));
        Assert.Equal(expected.Blocks.Count, actual.Blocks.Count);
        Assert.True(actual.SeparateWeightAndBias);
    }
}
