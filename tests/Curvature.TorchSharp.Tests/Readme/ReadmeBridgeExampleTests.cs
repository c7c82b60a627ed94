using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Optimizers;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.Readme;

/// <summary>The bridge examples of README.md, compiled as written and checked; the README must show these exact lines.</summary>
public class ReadmeBridgeExampleTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void TrainingExample_TrainsTheModelInPlace(string backendName)
    {
        CurvatureBackend backend = TestBackends.Get(backendName);
        var model = TorchProblems.Initialize(nn.Sequential(("0", nn.Linear(5, 8)), ("1", nn.ReLU()), ("2", nn.Linear(8, 3))), ScalarType.Float32, 5);
        var generator = new Generator(5);
        var batches = Enumerable.Range(0, 3).Select(_ => (randn([16, 5], generator: generator), randint(0, 3, [16], generator: generator))).ToList();
        var before = Torch.Values<float>(model.parameters().First());

#pragma warning disable xUnit1051 // as the README shows it (no cancellation token)
        // ── README: TorchSharp training ──
        using var kfac = TorchCurvature.Attach(model, (spec, values, grads) => new KfacOptimizer<float>(backend, spec, values, grads));
        foreach (var (x, y) in batches)
        {
            using var scope = torch.NewDisposeScope();
            model.zero_grad();
            Tensor output;
            using (kfac.Record()) output = model.call(x);
            kfac.Step(nn.functional.cross_entropy(output, y), output);    // backward, observe, update in place
        }
        // ── end ──
#pragma warning restore xUnit1051

        Assert.Equal(3, kfac.Optimizer.StepCount);
        Assert.NotEqual(before, Torch.Values<float>(model.parameters().First()));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void OperatorExample_AccumulatesTheFactorsOfTheModel(string backendName)
    {
        CurvatureBackend backend = TestBackends.Get(backendName);
        manual_seed(5);
        var model = nn.Sequential(("0", nn.Linear(5, 4)), ("1", nn.ReLU()), ("2", nn.Linear(4, 3)));
        int n = 8;
        using var x = randn(n, 5);
        using var y = randint(0, 3, [n]);

        // ── README: TorchSharp operator ──
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

    [Theory]
    [InlineData("// ── README: TorchSharp training ──", 9)]
    [InlineData("// ── README: TorchSharp operator ──", 6)]
    public void TheReadme_ShowsTheseLines(string marker, int count)
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Curvature.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        Assert.NotNull(dir);
        string source = File.ReadAllText(Path.Combine(dir, "tests", "Curvature.TorchSharp.Tests", "Readme", "ReadmeBridgeExampleTests.cs"));
        int start = source.IndexOf(marker, StringComparison.Ordinal);
        int end = source.IndexOf("// ── end ──", start, StringComparison.Ordinal);
        var lines = Trimmed(source[start..end]).Skip(1).ToList();
        Assert.Equal(count, lines.Count);

        // The README's C# block that starts with the same first line holds exactly these lines.
        var blocks = File.ReadAllText(Path.Combine(dir, "README.md")).Split("```csharp").Skip(1).Select(b => Trimmed(b[..b.IndexOf("```", StringComparison.Ordinal)]).ToList());
        var block = Assert.Single(blocks, b => b.Count > 0 && b[0] == lines[0]);
        Assert.Equal(lines, block);
    }

    private static IEnumerable<string> Trimmed(string text) => text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0);
}
