using Curvature.TorchSharp.Tests.TestKit;
using Curvature.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests;

public class TorchParameterGradientsTests
{
    [Fact]
    public void Read_ConcatenatesTheGradientsInKfacOrder_AndWriteReplacesThem()
    {
        manual_seed(3);
        var model = nn.Sequential(("0", nn.Conv2d(2, 3, 3)), ("1", nn.Flatten()), ("2", nn.Linear(12, 2))).to(ScalarType.Float64);
        var kfac = TorchModelDescription.Describe(model).ToKfacModel();
        var gradients = new TorchParameterGradients<double>(model, kfac);
        using var x = randn([4, 2, 4, 4], ScalarType.Float64);
        using var loss = model.call(x).square().sum();
        loss.backward();

        var flat = new double[gradients.Length];
        gradients.Read(flat);

        Assert.Equal(kfac.Dimension, gradients.Length);
        foreach (var p in kfac.Parameters)
        {
            var grad = Torch.Values<double>(model.named_parameters().Single(t => t.name == p.Name).parameter.grad!);
            Assert.Equal(grad, flat.AsSpan(p.Offset, p.Length).ToArray());
        }

        var doubled = flat.Select(v => 2 * v).ToArray();
        gradients.Write(doubled);
        var back = new double[gradients.Length];
        gradients.Read(back);
        Assert.Equal(doubled, back);
    }

    [Fact]
    public void Write_CreatesMissingGradients_AndReadGivesZerosWithoutThem()
    {
        var model = nn.Sequential(("0", nn.Linear(3, 2)));
        var gradients = new TorchParameterGradients<float>(model, ["0.bias", "0.weight"]);
        var flat = new float[8];
        flat.AsSpan().Fill(9);
        gradients.Read(flat);
        Assert.All(flat, v => Assert.Equal(0f, v));

        float[] values = [1, 2, 3, 4, 5, 6, 7, 8];
        gradients.Write(values);
        var linear = (global::TorchSharp.Modules.Linear)model.named_children().Single().module;
        Assert.Equal([1f, 2f], Torch.Values<float>(linear.bias!.grad!));
        Assert.Equal([3f, 4f, 5f, 6f, 7f, 8f], Torch.Values<float>(linear.weight!.grad!));
    }

    [Fact]
    public void Open_GivesTheGradientsInPlace()
    {
        manual_seed(4);
        var model = nn.Sequential(("0", nn.Linear(3, 2)));
        var linear = (global::TorchSharp.Modules.Linear)model.named_children().Single().module;
        var gradients = new TorchParameterGradients<float>(model, ["0.weight", "0.bias"]);
        using (var x = randn(5, 3))
        using (var loss = model.call(x).sum())
        {
            loss.backward();
        }

        var expected = Torch.Values<float>(linear.weight!.grad!);
        using (var view = gradients.Open())
        {
            Assert.Equal(2, view.Count);
            Assert.Equal(expected, view[0].ToArray());
            Assert.Throws<InvalidOperationException>(() => gradients.Open());
            view[0].Fill(7);
            view[1][1] = -1;
        }

        Assert.All(Torch.Values<float>(linear.weight.grad!), v => Assert.Equal(7f, v));
        Assert.Equal(-1f, Torch.Values<float>(linear.bias!.grad!)[1]);

        // A second view after the first is disposed; the view is unusable once disposed.
        var view2 = gradients.Open();
        view2.Dispose();
        bool threw = false;
        try
        {
            _ = view2[0];
        }
        catch (ObjectDisposedException)
        {
            threw = true;
        }

        Assert.True(threw);
    }

    [Fact]
    public void BadBuffersAndNames_AreRejected_AndLeaveTheGradients()
    {
        var model = nn.Sequential(("0", nn.Linear(3, 2)));
        var gradients = new TorchParameterGradients<float>(model, ["0.weight", "0.bias"]);
        float[] values = [1, 2, 3, 4, 5, 6, 7, 8];
        gradients.Write(values);
        Assert.Throws<ArgumentException>(() => gradients.Write(new float[7]));
        Assert.Throws<ArgumentException>(() => gradients.Read(new float[9]));
        var bad = (float[])values.Clone();
        bad[7] = float.NaN;
        Assert.Throws<ArgumentException>(() => gradients.Write(bad));
        var back = new float[8];
        gradients.Read(back);
        Assert.Equal(values, back);

        Assert.Throws<ArgumentException>(() => new TorchParameterGradients<float>(model, ["0.weight", "0.weight"]));
        Assert.Throws<ArgumentException>(() => new TorchParameterGradients<float>(model, ["1.weight"]));
        Assert.Throws<ArgumentException>(() => new TorchParameterGradients<double>(model, ["0.weight"]));
        Assert.Throws<NotSupportedException>(() => new TorchParameterGradients<Half>(model, ["0.weight"]));
    }
}
