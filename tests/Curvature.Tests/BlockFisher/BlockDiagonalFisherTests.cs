using CommunityToolkit.HighPerformance;
using Curvature.BlockFisher;
using Curvature.Serialization;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.BlockFisher;

public class BlockDiagonalFisherTests
{
    /// <summary>Dense float64 oracle: the full n × n block-diagonal Fisher with a diagonal tail, EMA'd, damped, solved densely.</summary>
    private sealed class DenseOracle(int n, int blockSize, int maxBlocks, double decay, double damping)
    {
        private readonly double[,] _f = new double[n, n];
        private int _updates;

        private int Covered => Math.Min(n, blockSize * maxBlocks);

        private bool SameBlock(int i, int j) => i < Covered && j < Covered ? i / blockSize == j / blockSize : i == j;

        public void Update(double[][] rows)
        {
            double gamma = _updates == 0 ? 0 : decay;
            for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double est = 0;
                if (SameBlock(i, j))
                {
                    foreach (var g in rows) est += g[i] * g[j];
                    est /= rows.Length;
                }

                _f[i, j] = gamma * _f[i, j] + (1 - gamma) * est;
            }

            _updates++;
        }

        public double[] Solve(double[] v)
        {
            // Gaussian elimination with partial pivoting on (F + λI).
            var a = new double[n, n + 1];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++) a[i, j] = _f[i, j] + (i == j ? damping : 0);
                a[i, n] = v[i];
            }

            for (int c = 0; c < n; c++)
            {
                int p = c;
                for (int r = c + 1; r < n; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[p, c])) p = r;
                for (int k = 0; k <= n; k++) (a[c, k], a[p, k]) = (a[p, k], a[c, k]);
                for (int r = 0; r < n; r++)
                {
                    if (r == c) continue;
                    double factor = a[r, c] / a[c, c];
                    for (int k = c; k <= n; k++) a[r, k] -= factor * a[c, k];
                }
            }

            return Enumerable.Range(0, n).Select(i => a[i, n] / a[i, i]).ToArray();
        }

        public double this[int i, int j] => _f[i, j];
    }

    private static double[] Vector(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();

    private static void AssertClose(double[] expected, ReadOnlySpan<double> actual, double tol)
    {
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale, $"entry {i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void PerStepUpdates_MatchDenseOracle_WithDiagonalRemainder(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var options = new BlockFisherOptions { BlockSize = 4, MaxBlocks = 2, Decay = 0.9, Damping = 1e-2 };
        var fisher = new BlockDiagonalFisher<double>(backend, 11, options);
        var oracle = new DenseOracle(11, 4, 2, 0.9, 1e-2);
        Assert.Equal(2, fisher.BlockCount);
        Assert.Equal(3, fisher.DiagonalCount);
        var rng = new Random(7);
        for (int t = 0; t < 6; t++)
        {
            var g = Vector(rng, 11);
            fisher.Update(g);
            oracle.Update([g]);
            var v = Vector(rng, 11);
            var x = new double[11];
            fisher.Apply(v, x);
            AssertClose(oracle.Solve(v), x, 1e-10);
        }

        var block = new double[16];
        fisher.CopyBlockFisher(1, block);
        for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
        {
            Assert.Equal(oracle[4 + i, 4 + j], block[(i * 4) + j], 1e-12);
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void PerExampleUpdates_MatchDenseOracle_WithShortLastBlock(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var options = new BlockFisherOptions { BlockSize = 4, MaxBlocks = 1000, Decay = 0.5, Damping = 1e-3 };
        var fisher = new BlockDiagonalFisher<double>(backend, 10, options);
        var oracle = new DenseOracle(10, 4, 1000, 0.5, 1e-3);
        Assert.Equal(3, fisher.BlockCount);
        Assert.Equal((8, 2), fisher.GetBlockRange(2));
        Assert.Equal(0, fisher.DiagonalCount);
        var rng = new Random(8);
        for (int t = 0; t < 3; t++)
        {
            var rows = Enumerable.Range(0, 5).Select(_ => Vector(rng, 10)).ToArray();
            var matrix = new double[5, 12]; // pitch 2 to exercise strided rows
            for (int r = 0; r < 5; r++)
            for (int c = 0; c < 10; c++)
                matrix[r, c] = rows[r][c];
            fisher.UpdatePerExample(new ReadOnlySpan2D<double>(matrix).Slice(0, 0, 5, 10));
            oracle.Update(rows);
        }

        var v = Vector(rng, 10);
        var x = (double[])v.Clone();
        fisher.Apply(x, x); // in place
        AssertClose(oracle.Solve(v), x, 1e-10);
    }

    [Fact]
    public void Float_MatchesDoubleOracle()
    {
        var options = new BlockFisherOptions { BlockSize = 3, MaxBlocks = 2, Decay = 0.8, Damping = 0.05 };
        var fisher = new BlockDiagonalFisher<float>(new Curvature.Backends.Managed.ManagedBackend(), 7, options);
        var oracle = new DenseOracle(7, 3, 2, 0.8, 0.05);
        var rng = new Random(10);
        for (int t = 0; t < 4; t++)
        {
            var g = Vector(rng, 7);
            fisher.Update(g.Select(x => (float)x).ToArray());
            oracle.Update([g]);
        }

        var v = Vector(rng, 7);
        var x = new float[7];
        fisher.Apply(v.Select(e => (float)e).ToArray(), x);
        AssertClose(oracle.Solve(v), x.Select(e => (double)e).ToArray(), 1e-4);
    }

    [Fact]
    public void ZeroBlocks_IsPureDiagonal()
    {
        var fisher = new BlockDiagonalFisher<double>(new Curvature.Backends.Managed.ManagedBackend(), 3, new BlockFisherOptions { MaxBlocks = 0, Decay = 0.5, Damping = 0.5 });
        fisher.Update([1, 2, 3]);
        fisher.Update([1, 0, 1]);
        // d = 0.5·[1, 4, 9] + 0.5·[1, 0, 1] = [1, 2, 5]
        var x = new double[3];
        fisher.Apply([1.5, 2.5, 5.5], x);
        Assert.Equal([1.0, 1.0, 1.0], x);
    }

    [Fact]
    public void BadInput_LeavesStateUnchanged()
    {
        var fisher = new BlockDiagonalFisher<double>(new Curvature.Backends.Managed.ManagedBackend(), 6, new BlockFisherOptions { BlockSize = 4 });
        fisher.Update([1, 2, 3, 4, 5, 6]);
        byte[] before = Save(fisher);
        Assert.Throws<ArgumentException>(() => fisher.Update([1, 2, 3]));
        Assert.Throws<ArgumentException>(() => fisher.Update([1, 2, double.NaN, 4, 5, 6]));
        Assert.Throws<ArgumentException>(() => fisher.UpdatePerExample(new double[2, 5]));
        Assert.Throws<ArgumentException>(() => fisher.UpdatePerExample(new double[0, 6]));
        Assert.Equal(before, Save(fisher));
        Assert.Equal(1, fisher.UpdateCount);
    }

    [Fact]
    public void SaveLoad_RoundTrips_AndRejectsMismatch()
    {
        var backend = new Curvature.Backends.Managed.ManagedBackend();
        var options = new BlockFisherOptions { BlockSize = 3, MaxBlocks = 1 };
        var a = new BlockDiagonalFisher<double>(backend, 5, options);
        a.Update([1, -2, 3, 0.5, 2]);
        a.Update([0, 1, 1, 1, -1]);
        byte[] state = Save(a);
        var b = new BlockDiagonalFisher<double>(backend, 5, options);
        b.Load(new MemoryStream(state));
        Assert.Equal(state, Save(b));
        var v = new double[] { 1, 2, 3, 4, 5 };
        var xa = new double[5];
        var xb = new double[5];
        a.Apply(v, xa);
        b.Apply(v, xb);
        Assert.Equal(xa, xb);

        var other = new BlockDiagonalFisher<double>(backend, 6, options);
        byte[] otherBefore = Save(other);
        Assert.Throws<CheckpointFormatException>(() => other.Load(new MemoryStream(state)));
        var corrupted = (byte[])state.Clone();
        corrupted[^10] ^= 1;
        Assert.Throws<CheckpointFormatException>(() => b.Load(new MemoryStream(corrupted)));
        Assert.Equal(otherBefore, Save(other));
        Assert.Equal(state, Save(b));
    }

    [Fact]
    public void UpdateAndApply_AllocateNothing()
    {
        var fisher = new BlockDiagonalFisher<double>(new Curvature.Backends.Managed.ManagedBackend(), 20, new BlockFisherOptions { BlockSize = 6, MaxBlocks = 2 });
        var g = Vector(new Random(9), 20);
        var perExample = new double[4, 20];
        var x = new double[20];
        fisher.Update(g);
        fisher.UpdatePerExample(perExample);
        fisher.Apply(g, x);
        long before = GC.GetAllocatedBytesForCurrentThread();
        fisher.Update(g);
        fisher.UpdatePerExample(perExample);
        fisher.Apply(g, x);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] Save(BlockDiagonalFisher<double> fisher)
    {
        using var ms = new MemoryStream();
        fisher.Save(ms);
        return ms.ToArray();
    }
}
