using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Serialization;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>The seed's K-FAC API (single layer with running averages, multi-layer optimizer) against dense oracles.</summary>
public class KfacPreconditionerTests
{
    private static readonly ManagedBackend Backend = new();

    private static double[,] Gram(double[,] x) => Scale(DenseOracle.Multiply(DenseOracle.Transpose(x), x), 1.0 / x.GetLength(0));

    private static double[,] Scale(double[,] m, double s)
    {
        var r = (double[,])m.Clone();
        for (int i = 0; i < r.GetLength(0); i++)
        {
            for (int j = 0; j < r.GetLength(1); j++)
            {
                r[i, j] *= s;
            }
        }

        return r;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var r = (double[,])a.Clone();
        for (int i = 0; i < r.GetLength(0); i++)
        {
            for (int j = 0; j < r.GetLength(1); j++)
            {
                r[i, j] += b[i, j];
            }
        }

        return r;
    }

    private static ReadOnlySpan2D<double> View(double[,] m) => new(m);

    private static double[,] Read(ReadOnlySpan2D<double> m) => m.ToArray();

    private static double TraceMean(double[,] m)
    {
        double t = 0;
        for (int i = 0; i < m.GetLength(0); i++)
        {
            t += m[i, i];
        }

        return t / m.GetLength(0);
    }

    [Fact]
    public void Update_FirstReplaces_ThenExponentialMovingAverage()
    {
        var rng = new Random(1);
        var p = new KfacLayerPreconditioner<double>(Backend, 3, 2, new KfacPreconditionerOptions { EmaDecay = 0.9 });
        var a1 = DenseOracle.Random(rng, 5, 3);
        var g1 = DenseOracle.Random(rng, 5, 2);
        p.Update(View(a1), View(g1));
        Assert.True(DenseOracle.RelativeError(Read(p.InputFactor), Gram(a1)) < 1e-14);
        Assert.True(DenseOracle.RelativeError(Read(p.GradientFactor), Gram(g1)) < 1e-14);
        var a2 = DenseOracle.Random(rng, 4, 3);
        var g2 = DenseOracle.Random(rng, 4, 2);
        p.Update(View(a2), View(g2));
        Assert.True(DenseOracle.RelativeError(Read(p.InputFactor), Add(Scale(Gram(a1), 0.9), Scale(Gram(a2), 0.1))) < 1e-14);
        Assert.True(DenseOracle.RelativeError(Read(p.GradientFactor), Add(Scale(Gram(g1), 0.9), Scale(Gram(g2), 0.1))) < 1e-14);
        Assert.Equal(2, p.UpdateCount);
    }

    [Theory]
    [InlineData(DampingMode.TraceScaled)]
    [InlineData(DampingMode.Plain)]
    [InlineData(DampingMode.Heuristic)]
    [InlineData(DampingMode.Exact)]
    public void NaturalGradient_MatchesDenseDampedSolve(DampingMode mode)
    {
        const double delta = 0.05;
        var rng = new Random(2);
        var p = new KfacLayerPreconditioner<double>(Backend, 3, 2, new KfacPreconditionerOptions { Damping = delta, DampingMode = mode });
        var a = DenseOracle.Random(rng, 6, 3);
        var g = DenseOracle.Random(rng, 6, 2);
        p.Update(View(a), View(g));
        var grad = DenseOracle.Random(rng, 2, 3);
        var result = new double[2, 3];
        p.NaturalGradient(View(grad), new Span2D<double>(result));
        var A = Gram(a);
        var G = Gram(g);
        double[,] expected;
        if (mode == DampingMode.Exact)
        {
            var inv = DenseOracle.Inverse(DenseOracle.AddIdentity(DenseOracle.Kron(G, A), delta));
            expected = DenseOracle.FromFlat(DenseOracle.Flat(DenseOracle.Multiply(inv, DenseOracle.FromFlat(DenseOracle.Flat(grad), 6, 1))), 2, 3);
        }
        else
        {
            double pi = Math.Sqrt(TraceMean(A) / TraceMean(G));
            var (dG, dA) = mode switch
            {
                DampingMode.Plain => (delta, delta),
                DampingMode.Heuristic => (Math.Sqrt(delta) / pi, Math.Sqrt(delta) * pi),
                _ => (delta * TraceMean(G), delta * TraceMean(A)),
            };
            expected = DenseOracle.Multiply(DenseOracle.Multiply(DenseOracle.Inverse(DenseOracle.AddIdentity(G, dG)), grad), DenseOracle.Inverse(DenseOracle.AddIdentity(A, dA)));
        }

        Assert.True(DenseOracle.RelativeError(result, expected) < 1e-12, $"relative error {DenseOracle.RelativeError(result, expected)}");
    }

    private static void AssertSameState(KfacLayerPreconditioner<double> p, (double[] A, double[] G, double[] L, double[] R) before, long updates)
    {
        var now = p.SnapshotForTests();
        Assert.Equal(before.A, now.A);
        Assert.Equal(before.G, now.G);
        Assert.Equal(before.L, now.InverseLeft);
        Assert.Equal(before.R, now.InverseRight);
        Assert.Equal(updates, p.UpdateCount);
    }

    [Fact]
    public void BadInput_RaisesAndLeavesFactorsAndInversesBitForBit()
    {
        var rng = new Random(4);
        var p = new KfacLayerPreconditioner<double>(Backend, 3, 2, new KfacPreconditionerOptions { DampingMode = DampingMode.Plain, Damping = 0, EmaDecay = 0 });
        p.Update(View(DenseOracle.Random(rng, 6, 3)), View(DenseOracle.Random(rng, 6, 2)));
        var nat = new double[2, 3];
        p.NaturalGradient(View(DenseOracle.Random(rng, 2, 3)), new Span2D<double>(nat));
        var snap = p.SnapshotForTests();

        var nan = DenseOracle.Random(rng, 4, 3);
        nan[2, 1] = double.NaN;
        var inf = DenseOracle.Random(rng, 4, 2);
        inf[0, 0] = double.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => p.Update(View(nan), View(DenseOracle.Random(rng, 4, 2))));
        Assert.Throws<ArgumentException>(() => p.Update(View(DenseOracle.Random(rng, 4, 3)), View(inf)));
        Assert.Throws<ArgumentException>(() => p.Update(View(new double[0, 3]), View(new double[0, 2])));
        Assert.Throws<ArgumentException>(() => p.Update(View(DenseOracle.Random(rng, 4, 4)), View(DenseOracle.Random(rng, 4, 2))));
        Assert.Throws<ArgumentException>(() => p.Update(View(DenseOracle.Random(rng, 4, 3)), View(DenseOracle.Random(rng, 3, 2))));
        Assert.Throws<ArgumentException>(() => p.NaturalGradient(View(new double[3, 3]), new Span2D<double>(new double[3, 3])));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Damping = -1e-3);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Damping = double.NaN);
        AssertSameState(p, (snap.A, snap.G, snap.InverseLeft, snap.InverseRight), 1);
        Assert.Equal(0, p.Damping);

        // A rank-deficient batch (one sample, undamped): the refresh fails and the cached inverses stay.
        p.Update(View(DenseOracle.Random(rng, 1, 3)), View(DenseOracle.Random(rng, 1, 2)));
        var afterUpdate = p.SnapshotForTests();
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => p.NaturalGradient(View(DenseOracle.Random(rng, 2, 3)), new Span2D<double>(nat)));
        AssertSameState(p, (afterUpdate.A, afterUpdate.G, snap.InverseLeft, snap.InverseRight), 2);
    }

    [Fact]
    public void Inverses_AreCachedAndRefreshedEveryPeriod()
    {
        var rng = new Random(5);
        var options = new KfacPreconditionerOptions { InverseUpdatePeriod = 3, DampingMode = DampingMode.Plain, Damping = 0.1 };
        var p = new KfacLayerPreconditioner<double>(Backend, 3, 2, options);
        var first = new KfacLayerPreconditioner<double>(Backend, 3, 2, options);
        var batches = Enumerable.Range(0, 4).Select(_ => (DenseOracle.Random(rng, 5, 3), DenseOracle.Random(rng, 5, 2))).ToList();
        var grad = DenseOracle.Random(rng, 2, 3);
        var expectedOld = new double[2, 3];
        first.Update(View(batches[0].Item1), View(batches[0].Item2));
        first.NaturalGradient(View(grad), new Span2D<double>(expectedOld));

        p.Update(View(batches[0].Item1), View(batches[0].Item2));
        var r = new double[2, 3];
        p.NaturalGradient(View(grad), new Span2D<double>(r));
        Assert.True(p.InverseIsCurrent);
        for (int i = 1; i <= 2; i++)
        {
            p.Update(View(batches[i].Item1), View(batches[i].Item2));
            p.NaturalGradient(View(grad), new Span2D<double>(r));
            Assert.Equal(expectedOld, r); // not refreshed before 3 updates
        }

        p.Update(View(batches[3].Item1), View(batches[3].Item2));
        p.NaturalGradient(View(grad), new Span2D<double>(r));
        Assert.True(p.InverseIsCurrent);
        Assert.NotEqual(expectedOld, r);

        p.Damping = 0.2; // a damping change invalidates the cache at once
        Assert.False(p.InverseIsCurrent);
    }

    [Fact]
    public void Reset_ClearsFactorsAndRequiresANewUpdate()
    {
        var rng = new Random(7);
        var p = new KfacLayerPreconditioner<double>(Backend, 2, 2);
        p.Update(View(DenseOracle.Random(rng, 3, 2)), View(DenseOracle.Random(rng, 3, 2)));
        p.Reset();
        Assert.Equal(0, p.UpdateCount);
        Assert.All(p.InputFactor.ToArray().Cast<double>(), v => Assert.Equal(0, v));
        Assert.Throws<InvalidOperationException>(() => p.NaturalGradient(View(new double[2, 2]), new Span2D<double>(new double[2, 2])));
    }

    private static byte[] Save(Action<Stream> save)
    {
        using var ms = new MemoryStream();
        save(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Checkpoint_RoundTripsExactly_AndContinuesIdentically()
    {
        var rng = new Random(8);
        var options = new KfacPreconditionerOptions { InverseUpdatePeriod = 2, EmaDecay = 0.8, Damping = 0.01 };
        var p = new KfacLayerPreconditioner<double>(Backend, 3, 2, options);
        var grad = DenseOracle.Random(rng, 2, 3);
        var r1 = new double[2, 3];
        p.Update(View(DenseOracle.Random(rng, 5, 3)), View(DenseOracle.Random(rng, 5, 2)));
        p.NaturalGradient(View(grad), new Span2D<double>(r1));
        p.Update(View(DenseOracle.Random(rng, 5, 3)), View(DenseOracle.Random(rng, 5, 2))); // inverse is now stale but cached
        byte[] bytes = Save(p.Save);

        var q = new KfacLayerPreconditioner<double>(Backend, 3, 2);
        q.Load(new MemoryStream(bytes));
        Assert.Equal(p.SnapshotForTests().A, q.SnapshotForTests().A);
        Assert.Equal(p.SnapshotForTests().InverseLeft, q.SnapshotForTests().InverseLeft);
        Assert.Equal(p.UpdateCount, q.UpdateCount);
        Assert.Equal(options, q.Options);
        var a = DenseOracle.Random(rng, 4, 3);
        var g = DenseOracle.Random(rng, 4, 2);
        var rp = new double[2, 3];
        var rq = new double[2, 3];
        p.NaturalGradient(View(grad), new Span2D<double>(rp));
        q.NaturalGradient(View(grad), new Span2D<double>(rq));
        Assert.Equal(rp, rq);
        p.Update(View(a), View(g));
        q.Update(View(a), View(g));
        p.NaturalGradient(View(grad), new Span2D<double>(rp));
        q.NaturalGradient(View(grad), new Span2D<double>(rq));
        Assert.Equal(rp, rq);
    }

    [Fact]
    public void Checkpoint_TruncatedCorruptedOrMismatched_IsRejectedAndStateUntouched()
    {
        var rng = new Random(9);
        var source = new KfacLayerPreconditioner<double>(Backend, 3, 2);
        source.Update(View(DenseOracle.Random(rng, 5, 3)), View(DenseOracle.Random(rng, 5, 2)));
        source.NaturalGradient(View(DenseOracle.Random(rng, 2, 3)), new Span2D<double>(new double[2, 3]));
        byte[] bytes = Save(source.Save);

        var target = new KfacLayerPreconditioner<double>(Backend, 3, 2, new KfacPreconditionerOptions { Damping = 0.5 });
        target.Update(View(DenseOracle.Random(rng, 4, 3)), View(DenseOracle.Random(rng, 4, 2)));
        target.NaturalGradient(View(DenseOracle.Random(rng, 2, 3)), new Span2D<double>(new double[2, 3]));
        var snap = target.SnapshotForTests();
        for (int len = 0; len < bytes.Length; len += 7)
        {
            Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(bytes[..len])));
        }

        for (int i = 0; i < bytes.Length; i += 5)
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x10;
            Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(copy)));
        }

        var other = new KfacLayerPreconditioner<double>(Backend, 4, 2);
        other.Update(View(DenseOracle.Random(rng, 4, 4)), View(DenseOracle.Random(rng, 4, 2)));
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(other.Save))));
        var single = new KfacLayerPreconditioner<float>(Backend, 3, 2);
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(single.Save))));
        AssertSameState(target, (snap.A, snap.G, snap.InverseLeft, snap.InverseRight), 1);
        Assert.Equal(0.5, target.Damping);
    }
}
