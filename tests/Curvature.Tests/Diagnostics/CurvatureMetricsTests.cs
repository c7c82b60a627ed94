using System.Diagnostics.Metrics;
using Curvature.Models;
using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Diagnostics;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Tests.Ekfac;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Diagnostics;

/// <summary>The "Curvature" meter: every instrument is published and recorded where it belongs, with its tags.</summary>
[Collection(MetricsCollection.Name)]
public sealed class CurvatureMetricsTests
{
    private static readonly string[] AllInstruments =
    [
        CurvatureMetrics.InverseRefreshDuration, CurvatureMetrics.EigenbasisRefreshDuration, CurvatureMetrics.InverseLag,
        CurvatureMetrics.FactorizationFailures, CurvatureMetrics.Float64Retries, CurvatureMetrics.StepsRejected,
    ];

    [Fact]
    public void Listener_SeesEveryInstrument_WithItsKindAndUnit()
    {
        using var capture = new MetricsCapture();
        CurvatureMetrics.RecordStepRejected("test"); // makes sure the instruments exist

        var seen = capture.Instruments;
        Assert.Equal(AllInstruments.Order(), seen.Keys.Order());
        Assert.All(seen.Values, i => Assert.Equal("Curvature", i.Meter.Name));
        Assert.IsType<Histogram<double>>(seen[CurvatureMetrics.InverseRefreshDuration]);
        Assert.IsType<Histogram<double>>(seen[CurvatureMetrics.EigenbasisRefreshDuration]);
        Assert.IsType<Histogram<long>>(seen[CurvatureMetrics.InverseLag]);
        Assert.IsType<Counter<long>>(seen[CurvatureMetrics.FactorizationFailures]);
        Assert.IsType<Counter<long>>(seen[CurvatureMetrics.Float64Retries]);
        Assert.IsType<Counter<long>>(seen[CurvatureMetrics.StepsRejected]);
        Assert.Equal("s", seen[CurvatureMetrics.InverseRefreshDuration].Unit);
        Assert.Equal("s", seen[CurvatureMetrics.EigenbasisRefreshDuration].Unit);
        Assert.Equal("{update}", seen[CurvatureMetrics.InverseLag].Unit);
        Assert.Equal("{failure}", seen[CurvatureMetrics.FactorizationFailures].Unit);
        Assert.Equal("{retry}", seen[CurvatureMetrics.Float64Retries].Unit);
        Assert.Equal("{step}", seen[CurvatureMetrics.StepsRejected].Unit);
        Assert.All(seen.Values, i => Assert.False(string.IsNullOrEmpty(i.Description)));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void KfacInverse_RecordsOneRefreshPerBlock_WithElementTypeAndBackend(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var op = TwoBlockOperator(backend);
        using var capture = new MetricsCapture();

        _ = op.Inverse(KfacInverseOptions.Heuristic(1e-3));
        var plain = capture.Of(CurvatureMetrics.InverseRefreshDuration);
        _ = op.Inverse(KfacInverseOptions.Exact(1e-3));

        var all = capture.Of(CurvatureMetrics.InverseRefreshDuration);
        Assert.Equal(op.Blocks.Count, plain.Count);
        Assert.Equal(2 * op.Blocks.Count, all.Count);
        Assert.All(all, m =>
        {
            Assert.True(m.Value >= 0 && m.Value < 60, $"duration {m.Value} s");
            Assert.Equal("float64", m.Tag(CurvatureMetrics.ElementTypeTag));
            Assert.Equal(backendName, m.Tag(CurvatureMetrics.BackendTag));
        });
        Assert.Empty(capture.Of(CurvatureMetrics.FactorizationFailures));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Float32CholeskyFailure_IsCounted_AndItsFloat64RetrySucceeds(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var op = SingularInFloat32(backend);
        using var capture = new MetricsCapture();

        _ = op.Inverse(KfacInverseOptions.Plain(1e-9));

        var failure = Assert.Single(capture.Of(CurvatureMetrics.FactorizationFailures));
        Assert.Equal("potrf", failure.Tag(CurvatureMetrics.RoutineTag));
        Assert.Equal("float32", failure.Tag(CurvatureMetrics.ElementTypeTag));
        Assert.Equal(backendName, failure.Tag(CurvatureMetrics.BackendTag));
        Assert.Equal(1, failure.Value);
        var retry = Assert.Single(capture.Of(CurvatureMetrics.Float64Retries));
        Assert.Equal("succeeded", retry.Tag(CurvatureMetrics.OutcomeTag));
        Assert.Equal(backendName, retry.Tag(CurvatureMetrics.BackendTag));
        var refresh = Assert.Single(capture.Of(CurvatureMetrics.InverseRefreshDuration));
        Assert.Equal("float32", refresh.Tag(CurvatureMetrics.ElementTypeTag));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void FailedFloat64Retry_CountsBothFailures_AndNoRefresh(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var model = new ModelSpec([LayerSpec.Linear("0", 2, 1, bias: false)]);
        var block = new KfacBlock<float>(model.Blocks[0]);
        block.GradientCovariance[0, 0] = 1;
        block.InputCovariance[0, 0] = -1; // indefinite in any precision
        block.InputCovariance[1, 1] = 1;
        var op = new KfacOperator<float>(backend, model, [block]);
        using var capture = new MetricsCapture();

        Assert.Throws<MatrixNotPositiveDefiniteException>(() => op.Inverse(KfacInverseOptions.Plain(1e-3)));

        var failures = capture.Of(CurvatureMetrics.FactorizationFailures);
        Assert.Equal(["float32", "float64"], failures.Select(f => f.Tag(CurvatureMetrics.ElementTypeTag)));
        Assert.All(failures, f => Assert.Equal("potrf", f.Tag(CurvatureMetrics.RoutineTag)));
        Assert.Equal("failed", Assert.Single(capture.Of(CurvatureMetrics.Float64Retries)).Tag(CurvatureMetrics.OutcomeTag));
        Assert.Empty(capture.Of(CurvatureMetrics.InverseRefreshDuration));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void EkfacEigenbases_RecordOneRefreshPerBlock(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(separate: true, WeightSharing.Expand, LossReduction.Mean, seed: 5);
        var factors = problem.Factors(backend);
        var ekfac = new EkfacBuilder<double>(backend, problem.Model, problem.Options);
        using var capture = new MetricsCapture();

        ekfac.SetFactors(factors);
        ekfac.Blocks[0].ComputeEigenbasis(backend);

        var refreshes = capture.Of(CurvatureMetrics.EigenbasisRefreshDuration);
        Assert.Equal(ekfac.Blocks.Count + 1, refreshes.Count);
        Assert.All(refreshes, m =>
        {
            Assert.Equal("float64", m.Tag(CurvatureMetrics.ElementTypeTag));
            Assert.Equal(backendName, m.Tag(CurvatureMetrics.BackendTag));
        });
    }

    [Fact]
    public void EkfacInverse_WithNonPositiveEigenvalue_IsCountedAsFailure()
    {
        var problem = EkfacTestProblem.Create(separate: false, WeightSharing.Expand, LossReduction.Mean, seed: 5);
        var backend = new ManagedBackend();
        var op = problem.Build(backend).ToOperator();
        op.Blocks[1].CorrectedEigenvalues[0, 0] = -1;
        using var capture = new MetricsCapture();

        Assert.Throws<MatrixNotPositiveDefiniteException>(() => op.Inverse(0.5));

        var failure = Assert.Single(capture.Of(CurvatureMetrics.FactorizationFailures));
        Assert.Equal("ekfac", failure.Tag(CurvatureMetrics.RoutineTag));
        Assert.Equal("managed", failure.Tag(CurvatureMetrics.BackendTag));
    }

    [Fact]
    public void Helpers_ForTheOptimizerLayer_RecordWithTheirTags()
    {
        using var capture = new MetricsCapture();

        CurvatureMetrics.RecordInverseLag<float>(3);
        CurvatureMetrics.RecordInverseLag(0, "float64");
        CurvatureMetrics.RecordStepRejected("non_finite_gradient");
        CurvatureMetrics.RecordInverseRefresh(TimeSpan.FromMilliseconds(1.5), "float64", BackendKind.Mkl);
        CurvatureMetrics.RecordEigenbasisRefresh(TimeSpan.FromMilliseconds(2), "float32", BackendKind.OpenBlas);

        Assert.Equal([3.0, 0.0], capture.Of(CurvatureMetrics.InverseLag).Select(m => m.Value));
        Assert.Equal(["float32", "float64"], capture.Of(CurvatureMetrics.InverseLag).Select(m => m.Tag(CurvatureMetrics.ElementTypeTag)));
        Assert.Equal("non_finite_gradient", Assert.Single(capture.Of(CurvatureMetrics.StepsRejected)).Tag(CurvatureMetrics.ReasonTag));
        var inverse = Assert.Single(capture.Of(CurvatureMetrics.InverseRefreshDuration));
        Assert.Equal(0.0015, inverse.Value, 12);
        Assert.Equal("mkl", inverse.Tag(CurvatureMetrics.BackendTag));
        var eigen = Assert.Single(capture.Of(CurvatureMetrics.EigenbasisRefreshDuration));
        Assert.Equal(0.002, eigen.Value, 12);
        Assert.Equal("openblas", eigen.Tag(CurvatureMetrics.BackendTag));
        Assert.Equal("float32", eigen.Tag(CurvatureMetrics.ElementTypeTag));
    }

    [Fact]
    public void WithoutListener_RefreshesAndRecordingAllocateNothing()
    {
        // Steady state of the instrumented paths: a K-FAC inverse refresh in float64, a float32 refresh whose Cholesky
        // fails and is retried in float64 (failure, retry and duration recording), and the helpers.
        var op64 = TwoBlockOperator(new ManagedBackend());
        var inverse64 = op64.Inverse(KfacInverseOptions.Heuristic(1e-3));
        var inverse32 = SingularInFloat32(new ManagedBackend()).Inverse(KfacInverseOptions.Plain(1e-9));
        var token = new CancellationTokenSource().Token;

        void Run()
        {
            inverse64.Recompute(token);
            inverse32.Recompute();
            CurvatureMetrics.RecordInverseLag<double>(2);
            CurvatureMetrics.RecordStepRejected("test");
            CurvatureMetrics.RecordInverseRefresh(TimeSpan.FromTicks(10), "float64", BackendKind.Managed);
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Run();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>A linear 3 → 2 layer and a bias-free 2 → 2 layer with random positive semi-definite factors.</summary>
    internal static KfacOperator<double> TwoBlockOperator(CurvatureBackend backend)
    {
        var model = new ModelSpec([LayerSpec.Linear("0", 3, 2), LayerSpec.Linear("1", 2, 2, bias: false)]);
        var rng = new Random(11);
        var blocks = model.Blocks.Select(b =>
        {
            var block = new KfacBlock<double>(b);
            FillSpd(rng, block.GradientCovariance);
            FillSpd(rng, block.InputCovariance);
            return block;
        }).ToList();
        return new KfacOperator<double>(backend, model, blocks);
    }

    /// <summary>A = [[1, 1], [1, 1]]: with damping 1e-9 it is singular in float32 and positive definite in float64.</summary>
    internal static KfacOperator<float> SingularInFloat32(CurvatureBackend backend)
    {
        var model = new ModelSpec([LayerSpec.Linear("0", 2, 1, bias: false)]);
        var block = new KfacBlock<float>(model.Blocks[0]);
        block.GradientCovariance[0, 0] = 1;
        block.InputCovariance.Fill(1);
        return new KfacOperator<float>(backend, model, [block]);
    }

    /// <summary>M = B Bᵀ / n + 0.1 I for a random square B.</summary>
    internal static void FillSpd(Random rng, CommunityToolkit.HighPerformance.Span2D<double> m)
    {
        int n = m.Height;
        var b = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                b[i, j] = (2 * rng.NextDouble()) - 1;
            }
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = i == j ? 0.1 : 0;
                for (int k = 0; k < n; k++)
                {
                    s += b[i, k] * b[j, k] / n;
                }

                m[i, j] = s;
            }
        }
    }
}
