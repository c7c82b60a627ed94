using Curvature.Diagnostics;
using Curvature.Models;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Tests.Diagnostics;
using Curvature.Tests.Ekfac;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Cancellation;

/// <summary>EKFAC builds: cancellation between eigendecompositions, layers and batches changes nothing.</summary>
[Collection(MetricsCollection.Name)]
public sealed class EkfacCancellationTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void SetFactorsAndComputeEigenbases_CancelledAfterTheFirstBlock_ChangeNothing(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(separate: true, WeightSharing.Expand, LossReduction.Mean, seed: 4);
        var builder = problem.Build(backend);
        var before = Snapshot(builder);
        var otherFactors = EkfacTestProblem.Create(separate: true, WeightSharing.Expand, LossReduction.Mean, seed: 9).Factors(backend);

        using var cts = new CancellationTokenSource();
        using var capture = new MetricsCapture(m =>
        {
            if (m.Instrument == CurvatureMetrics.EigenbasisRefreshDuration)
            {
                cts.Cancel();
            }
        });
        Assert.Throws<OperationCanceledException>(() => builder.SetFactors(otherFactors, cts.Token));
        Assert.Single(capture.Of(CurvatureMetrics.EigenbasisRefreshDuration));
        AssertUnchanged(before, builder);

        // The same for a recomputation from the block's own (changed) factors.
        builder.Blocks[0].GradientCovariance[0, 0] += 1;
        before = Snapshot(builder);
        using var cts2 = new CancellationTokenSource();
        capture.Clear();
        capture.OnMeasurement = m => cts2.Cancel();
        Assert.Throws<OperationCanceledException>(() => builder.ComputeEigenbases(cts2.Token));
        Assert.Single(capture.Of(CurvatureMetrics.EigenbasisRefreshDuration));
        AssertUnchanged(before, builder);

        capture.OnMeasurement = null;
        builder.SetFactors(otherFactors, TestContext.Current.CancellationToken); // still usable
        Assert.NotEqual(before[0][2], builder.Blocks[0].GradientEigenvectors.ToArray().Cast<double>().ToArray());
    }

    [Fact]
    public void Compute_CancelledDuringTheFirstPass_Throws()
    {
        var backend = TestBackends.Get("managed");
        var problem = EkfacTestProblem.Create(separate: false, WeightSharing.Expand, LossReduction.Mean, seed: 2);
        using var cts = new CancellationTokenSource();
        int reports = 0;
        var progress = new SyncProgress(_ =>
        {
            reports++;
            cts.Cancel();
        });
        Assert.Throws<OperationCanceledException>(() => EkfacBuilder<double>.Compute(backend, problem.Model, problem.Options, problem.Batches, progress, cancellationToken: cts.Token));
        Assert.Equal(1, reports); // cancelled right after the first batch

        Assert.Throws<OperationCanceledException>(() => EkfacBuilder<double>.Compute(backend, problem.Model, problem.Options, problem.Batches, cancellationToken: new CancellationToken(true)));
    }

    private static List<double[][]> Snapshot(EkfacBuilder<double> builder) =>
    [
        .. builder.Blocks.Select(b => new[]
        {
            b.GradientCovariance.ToArray().Cast<double>().ToArray(), b.InputCovariance.ToArray().Cast<double>().ToArray(),
            b.GradientEigenvectors.ToArray().Cast<double>().ToArray(), b.InputEigenvectors.ToArray().Cast<double>().ToArray(),
            b.GradientEigenvalues.ToArray(), b.InputEigenvalues.ToArray(), b.CorrectedEigenvalues.ToArray().Cast<double>().ToArray(),
        }),
    ];

    private static void AssertUnchanged(List<double[][]> before, EkfacBuilder<double> builder)
    {
        var now = Snapshot(builder);
        for (int i = 0; i < before.Count; i++)
        {
            for (int j = 0; j < before[i].Length; j++)
            {
                Assert.Equal(before[i][j], now[i][j]);
            }
        }
    }

    private sealed class SyncProgress(Action<EkfacProgress> report) : IProgress<EkfacProgress>
    {
        public void Report(EkfacProgress value) => report(value);
    }
}
