using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>
/// <see cref="KfacInverseRefresh.Background"/>: same numbers as the synchronous mode once the refresh is waited for,
/// never a mixed inverse, failures surfaced on the caller's thread, disposal and checkpoints while a refresh is pending.
/// </summary>
public class KfacBackgroundRefreshTests
{
    private static readonly ManagedBackend Managed = new();

    private static ReadOnlySpan2D<double> View(double[,] m) => new(m);

    private static KfacPreconditionerOptions Options(KfacInverseRefresh refresh, int period, DampingMode mode = DampingMode.TraceScaled, double damping = 1e-2) =>
        new() { InverseRefresh = refresh, InverseUpdatePeriod = period, DampingMode = mode, Damping = damping, EmaDecay = 0.9 };

    private static double[,] Natural(KfacLayerPreconditioner<double> p, double[,] gradient)
    {
        var result = new double[p.OutputSize, p.InputSize];
        p.NaturalGradient(View(gradient), new Span2D<double>(result));
        return result;
    }

    /// <summary>Dense oracle of the plain-damped natural gradient <c>(G + δI)⁻¹ V (A + δI)⁻¹</c>.</summary>
    private static double[,] PlainOracle(double[,] g, double[,] a, double damping, double[,] v) =>
        DenseOracle.Multiply(DenseOracle.Multiply(DenseOracle.Inverse(DenseOracle.AddIdentity(g, damping)), v), DenseOracle.Inverse(DenseOracle.AddIdentity(a, damping)));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void AfterWaiting_MatchesSynchronous(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var rng = new Random(11);
        const int input = 9, output = 7;
        var sync = new KfacLayerPreconditioner<double>(backend, input, output, Options(KfacInverseRefresh.Synchronous, 3));
        using var background = new KfacLayerPreconditioner<double>(backend, input, output, Options(KfacInverseRefresh.Background, 3));
        for (int step = 0; step < 14; step++)
        {
            var a = DenseOracle.Random(rng, 16, input);
            var g = DenseOracle.Random(rng, 16, output);
            var v = DenseOracle.Random(rng, output, input);
            sync.Update(View(a), View(g));
            background.Update(View(a), View(g));
            background.WaitForPendingRefresh();
            Assert.False(background.IsRefreshPending);
            var expected = Natural(sync, v);
            var actual = Natural(background, v);
            Assert.Equal(sync.InverseLag, background.InverseLag);
            if (backendName == "mkl")
            {
                // MKL without conditional numerical reproducibility may round differently for differently aligned
                // buffers (the worker reads a snapshot copy), so only agreement to rounding is required there.
                Assert.True(DenseOracle.RelativeError(expected, actual) < 1e-12, $"step {step}: {DenseOracle.RelativeError(expected, actual)}");
            }
            else
            {
                Assert.Equal(DenseOracle.Flat(expected), DenseOracle.Flat(actual));
            }
        }
    }

    [Fact]
    public void WithoutWaiting_EveryStepUsesOneCompleteInverse()
    {
        var rng = new Random(12);
        const int input = 40, output = 32;
        const double damping = 0.05;
        using var p = new KfacLayerPreconditioner<double>(Managed, input, output, Options(KfacInverseRefresh.Background, 1, DampingMode.Plain, damping));
        var history = new List<(double[,] G, double[,] A)>();
        var lags = new HashSet<long>();
        for (int step = 0; step < 30; step++)
        {
            p.Update(View(DenseOracle.Random(rng, 48, input)), View(DenseOracle.Random(rng, 48, output)));
            history.Add((p.GradientFactor.ToArray(), p.InputFactor.ToArray()));
            var v = DenseOracle.Random(rng, output, input);
            var actual = Natural(p, v);
            long lag = p.InverseLag;
            Assert.InRange(lag, 0, step);
            lags.Add(lag);

            // The inverse in use must be exactly the one of the factors `lag` updates ago, never a blend of two.
            var (g, a) = history[step - (int)lag];
            var expected = PlainOracle(g, a, damping, v);
            Assert.True(DenseOracle.RelativeError(actual, expected) < 1e-10, $"step {step}, lag {lag}: {DenseOracle.RelativeError(actual, expected)}");
        }

        p.WaitForPendingRefresh();
        Assert.Equal(0, p.InverseLag);
        Assert.True(p.InverseIsCurrent);
    }

    [Fact]
    public void FirstNaturalGradient_WaitsForTheFirstInverse()
    {
        var rng = new Random(13);
        using var p = new KfacLayerPreconditioner<double>(Managed, 6, 5, Options(KfacInverseRefresh.Background, 20, DampingMode.Plain, 0.1));
        Assert.Throws<InvalidOperationException>(() => Natural(p, new double[5, 6]));
        p.Update(View(DenseOracle.Random(rng, 10, 6)), View(DenseOracle.Random(rng, 10, 5)));
        var v = DenseOracle.Random(rng, 5, 6);
        var actual = Natural(p, v);
        Assert.Equal(0, p.InverseLag);
        Assert.True(DenseOracle.RelativeError(actual, PlainOracle(p.GradientFactor.ToArray(), p.InputFactor.ToArray(), 0.1, v)) < 1e-12);
    }

    [Fact]
    public void Dispose_TwiceIsSafe_LaterStepsThrow()
    {
        var rng = new Random(14);
        var p = new KfacLayerPreconditioner<double>(Managed, 30, 20, Options(KfacInverseRefresh.Background, 1));
        p.Update(View(DenseOracle.Random(rng, 8, 30)), View(DenseOracle.Random(rng, 8, 20)));
        p.Dispose(); // a refresh is (probably) in flight: disposal waits for it
        p.Dispose();
        Assert.Throws<ObjectDisposedException>(() => p.Update(View(DenseOracle.Random(rng, 8, 30)), View(DenseOracle.Random(rng, 8, 20))));
        Assert.Throws<ObjectDisposedException>(() => Natural(p, new double[20, 30]));

        // A synchronous preconditioner that never started a worker disposes too.
        var sync = new KfacLayerPreconditioner<double>(Managed, 3, 2);
        sync.Dispose();
        sync.Dispose();
    }

    [Fact]
    public void FailedRefresh_SurfacesOnNextCall_AndKeepsThePreviousInverse()
    {
        var rng = new Random(4);
        var options = Options(KfacInverseRefresh.Background, 1, DampingMode.Plain, 0) with { EmaDecay = 0 };
        using var p = new KfacLayerPreconditioner<double>(Managed, 3, 2, options);
        p.Update(View(DenseOracle.Random(rng, 6, 3)), View(DenseOracle.Random(rng, 6, 2)));
        Natural(p, DenseOracle.Random(rng, 2, 3));
        var good = p.SnapshotForTests();

        // A rank-deficient batch, undamped: the background refresh fails.
        p.Update(View(DenseOracle.Random(rng, 1, 3)), View(DenseOracle.Random(rng, 1, 2)));
        var bad = p.SnapshotForTests();
        Assert.Throws<MatrixNotPositiveDefiniteException>(p.WaitForPendingRefresh);
        Assert.Equal(good.InverseLeft, p.SnapshotForTests().InverseLeft);
        Assert.Equal(good.InverseRight, p.SnapshotForTests().InverseRight);
        Assert.Equal(1, p.InverseLag);

        // The previous inverse stays usable: the step uses it (and restarts the refresh, which fails again).
        var v = DenseOracle.Random(rng, 2, 3);
        var expected = DenseOracle.Multiply(DenseOracle.Multiply(DenseOracle.FromFlat(good.InverseLeft, 2, 2), v), DenseOracle.FromFlat(good.InverseRight, 3, 3));
        Assert.True(DenseOracle.RelativeError(Natural(p, v), expected) < 1e-14);

        // The failure surfaces on the next call, here an update, which then changes nothing.
        Assert.True(SpinWait.SpinUntil(() => p.BackgroundRefreshFinishedForTests, TimeSpan.FromSeconds(30)));
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => p.Update(View(DenseOracle.Random(rng, 6, 3)), View(DenseOracle.Random(rng, 6, 2))));
        var after = p.SnapshotForTests();
        Assert.Equal(bad.A, after.A);
        Assert.Equal(bad.G, after.G);
        Assert.Equal(good.InverseLeft, after.InverseLeft);
        Assert.Equal(2, p.UpdateCount);

        // A good batch afterwards recovers.
        p.Update(View(DenseOracle.Random(rng, 6, 3)), View(DenseOracle.Random(rng, 6, 2)));
        p.WaitForPendingRefresh();
        Assert.True(p.InverseIsCurrent);
    }

    [Fact]
    public void SaveAndLoad_WhileARefreshIsPending_RoundTrip()
    {
        var rng = new Random(15);
        const int input = 64, output = 48;
        using var p = new KfacLayerPreconditioner<double>(Managed, input, output, Options(KfacInverseRefresh.Background, 1));
        for (int i = 0; i < 3; i++)
        {
            p.Update(View(DenseOracle.Random(rng, 32, input)), View(DenseOracle.Random(rng, 32, output)));
            Natural(p, DenseOracle.Random(rng, output, input));
        }

        p.Update(View(DenseOracle.Random(rng, 32, input)), View(DenseOracle.Random(rng, 32, output)));
        var stream = new MemoryStream();
        p.Save(stream); // waits for the refresh in flight and saves its (complete) inverse
        Assert.False(p.IsRefreshPending);
        Assert.Equal(0, p.InverseLag);

        // Load into a preconditioner whose own refresh is in flight: that refresh is discarded.
        using var q = new KfacLayerPreconditioner<double>(Managed, input, output, Options(KfacInverseRefresh.Background, 1) with { Damping = 0.5 });
        q.Update(View(DenseOracle.Random(rng, 32, input)), View(DenseOracle.Random(rng, 32, output)));
        q.Load(new MemoryStream(stream.ToArray()));
        Assert.False(q.IsRefreshPending);
        Assert.Equal(KfacInverseRefresh.Background, q.Options.InverseRefresh);
        Assert.Equal(p.Options.Damping, q.Options.Damping);
        Assert.Equal(p.UpdateCount, q.UpdateCount);
        Assert.Equal(0, q.InverseLag);

        var reference = p.SnapshotForTests();
        var loaded = q.SnapshotForTests();
        Assert.Equal(reference.A, loaded.A);
        Assert.Equal(reference.G, loaded.G);
        Assert.Equal(reference.InverseLeft, loaded.InverseLeft);
        Assert.Equal(reference.InverseRight, loaded.InverseRight);
        var v = DenseOracle.Random(rng, output, input);
        Assert.Equal(DenseOracle.Flat(Natural(p, v)), DenseOracle.Flat(Natural(q, v)));

        // A synchronous preconditioner reads the same checkpoint and keeps its own refresh mode.
        var sync = new KfacLayerPreconditioner<double>(Managed, input, output);
        sync.Load(new MemoryStream(stream.ToArray()));
        Assert.Equal(KfacInverseRefresh.Synchronous, sync.Options.InverseRefresh);
        Assert.Equal(DenseOracle.Flat(Natural(p, v)), DenseOracle.Flat(Natural(sync, v)));
    }

    [Fact]
    public void ConfigureAndReset_WhileARefreshIsPending_DiscardIt()
    {
        var rng = new Random(16);
        using var p = new KfacLayerPreconditioner<double>(Managed, 50, 40, Options(KfacInverseRefresh.Background, 1));
        p.Update(View(DenseOracle.Random(rng, 32, 50)), View(DenseOracle.Random(rng, 32, 40)));
        p.Damping = 0.3;
        Assert.False(p.IsRefreshPending);
        Assert.False(p.InverseIsCurrent);
        var v = DenseOracle.Random(rng, 40, 50);
        var sync = new KfacLayerPreconditioner<double>(Managed, 50, 40, p.Options with { InverseRefresh = KfacInverseRefresh.Synchronous });
        sync.Load(SaveToStream(p));
        Assert.Equal(DenseOracle.Flat(Natural(sync, v)), DenseOracle.Flat(Natural(p, v)));

        p.Update(View(DenseOracle.Random(rng, 32, 50)), View(DenseOracle.Random(rng, 32, 40)));
        p.Reset();
        Assert.False(p.IsRefreshPending);
        Assert.Equal(0, p.UpdateCount);
        Assert.Throws<InvalidOperationException>(() => Natural(p, v));
    }

    private static MemoryStream SaveToStream(KfacLayerPreconditioner<double> p)
    {
        var stream = new MemoryStream();
        p.Save(stream);
        stream.Position = 0;
        return stream;
    }
}
