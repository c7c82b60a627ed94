using Curvature.Backends;
using Curvature.Models;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.Readme;

/// <summary>The bridge example of README.md, compiled as written and checked; the README must show these exact lines.</summary>
public class ReadmeBridgeExampleTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void BridgeExample_AccumulatesTheFactorsOfTheModel(string backendName)
    {
        CurvatureBackend backend = TestBackends.Get(backendName);
        manual_seed(5);
        var model = nn.Sequential(("0", nn.Linear(5, 4)), ("1", nn.ReLU()), ("2", nn.Linear(4, 3)));
        int n = 8;
        using var x = randn(n, 5);
        using var y = randint(0, 3, [n]);

        // ── README: TorchSharp bridge ──
        using var capture = new TorchLayerCapture<float>(model);
        var builder = new KfacFactorBuilder<float>(backend, capture.Model.ToModelSpec(), new KfacOptions { NumData = n });
        var observer = new KfacFactorBuilderObserver<float>(builder);
        Tensor output;
        using (capture.Record()) output = model.call(x);
        capture.ObserveLossVectors(output, y, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Type2, observer);
        // ── end ──

        Assert.Equal(2, builder.Blocks.Count);
        Assert.All(builder.Blocks, b => Assert.True(b.GradientCovariance[0, 0] > 0 && b.InputCovariance[0, 0] > 0));
    }

    [Fact]
    public void TheReadme_ShowsTheseLines()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Curvature.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        Assert.NotNull(dir);
        string readme = File.ReadAllText(Path.Combine(dir, "README.md"));
        string source = File.ReadAllText(Path.Combine(dir, "tests", "Curvature.TorchSharp.Tests", "Readme", "ReadmeBridgeExampleTests.cs"));
        int start = source.IndexOf("// ── README: TorchSharp bridge ──", StringComparison.Ordinal);
        int end = source.IndexOf("// ── end ──", start, StringComparison.Ordinal);
        var lines = source[start..end].Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Contains(string.Join("\n", lines), readme, StringComparison.Ordinal);
    }
}
