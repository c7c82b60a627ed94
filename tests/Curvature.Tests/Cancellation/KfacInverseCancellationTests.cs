using Curvature.Damping;
using Curvature.Diagnostics;
using Curvature.Kfac;
using Curvature.Tests.Diagnostics;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Cancellation;

/// <summary>
/// K-FAC inverses: cancellation between kernel calls and failures leave every block's previous inverse in place.
/// The token is cancelled from inside the operation by a metrics listener (callbacks run on the recording thread right
/// after a block's inverse was computed), so the cancellation lands deterministically between two blocks.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class KfacInverseCancellationTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Recompute_CancelledAfterTheFirstBlock_KeepsEveryPreviousInverse(string backendName)
    {
        var op = CurvatureMetricsTests.TwoBlockOperator(TestBackends.Get(backendName));
        var options = KfacInverseOptions.Heuristic(1e-3);
        var inverse = op.Inverse(options);
        double[] before = inverse.ToDense();
        var dampings = inverse.BlockDampings;
        ScaleFactors(op, 3);

        using var cts = new CancellationTokenSource();
        using var capture = new MetricsCapture(m =>
        {
            if (m.Instrument == CurvatureMetrics.InverseRefreshDuration)
            {
                cts.Cancel();
            }
        });
        Assert.Throws<OperationCanceledException>(() => inverse.Recompute(cts.Token));

        Assert.Single(capture.Of(CurvatureMetrics.InverseRefreshDuration)); // block 0 was computed, block 1 never started
        Assert.Equal(before, inverse.ToDense());
        Assert.Equal(dampings, inverse.BlockDampings);

        capture.OnMeasurement = null;
        inverse.Recompute(TestContext.Current.CancellationToken);
        Assert.Equal(op.Inverse(options).ToDense(), inverse.ToDense());
        Assert.NotEqual(before, inverse.ToDense());
    }

    [Fact]
    public void Inverse_WithCancelledToken_ComputesNothing()
    {
        var op = CurvatureMetricsTests.TwoBlockOperator(TestKit.TestBackends.Get("managed"));
        using var capture = new MetricsCapture();
        Assert.Throws<OperationCanceledException>(() => op.Inverse(KfacInverseOptions.Exact(1e-3), new CancellationToken(canceled: true)));
        Assert.Empty(capture.Of(CurvatureMetrics.InverseRefreshDuration));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Recompute_FailingOnTheSecondBlock_KeepsTheFirstBlocksPreviousInverse(string backendName)
    {
        // Before Prepare/Commit, block 0 was replaced before block 1 failed: a rejected call changed state.
        var op = CurvatureMetricsTests.TwoBlockOperator(TestBackends.Get(backendName));
        var inverse = op.Inverse(KfacInverseOptions.Plain(1e-3));
        double[] before = inverse.ToDense();
        ScaleFactors(op, 3);
        var g1 = op.Blocks[1].GradientCovariance;
        for (int i = 0; i < g1.Height; i++)
        {
            g1[i, i] = -1; // indefinite: the damped Cholesky of block 1 fails
        }

        Assert.Throws<MatrixNotPositiveDefiniteException>(() => inverse.Recompute(TestContext.Current.CancellationToken));
        Assert.Equal(before, inverse.ToDense());
    }

    private static void ScaleFactors(KfacOperator<double> op, double factor)
    {
        foreach (var block in op.Blocks)
        {
            var g = block.GradientCovariance;
            for (int i = 0; i < g.Height; i++)
            {
                for (int j = 0; j < g.Width; j++)
                {
                    g[i, j] *= factor;
                }
            }
        }
    }
}
