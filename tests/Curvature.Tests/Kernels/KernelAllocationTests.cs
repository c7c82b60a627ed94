using Curvature.Backends;
using Curvature.Backends.Managed;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>After a warm-up call, the managed kernels allocate nothing (per-thread scratch is reused).</summary>
public class KernelAllocationTests
{
    [Fact]
    public void ManagedKernels_AllocateNothingInSteadyState()
    {
        const int n = 64;
        var backend = new ManagedBackend();
        var rng = new Random(1);
        var a = new double[n, n];
        var spd = new double[n, n];
        var work = new double[n, n];
        var c = new double[n, n];
        var rhs = new double[n, 3];
        var w = new double[n];
        var af = new float[n, n];
        var cf = new float[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                a[i, j] = rng.NextDouble() - 0.5;
                af[i, j] = (float)a[i, j];
            }
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = i == j ? n : 0;
                for (int p = 0; p < n; p++)
                {
                    s += a[i, p] * a[j, p];
                }

                spd[i, j] = s;
            }
        }

        void RunAll()
        {
            backend.MatrixMultiply<double>(a, Transpose.None, a, Transpose.Transpose, c, 1, 0);
            backend.MatrixMultiply<float>(af, Transpose.Transpose, af, Transpose.None, cf, 1, 0.5f);
            backend.SymmetricRankKUpdate<double>(a, RankKForm.TransposeTimesMatrix, c, Triangle.Lower, 1, 0);
            backend.SymmetricRankKUpdate<float>(af, RankKForm.MatrixTimesTranspose, cf, Triangle.Upper, 1, 0);
            Array.Copy(spd, work, spd.Length);
            _ = backend.TryCholeskyFactor<double>(work, Triangle.Lower);
            backend.CholeskySolve<double>(work, Triangle.Lower, rhs);
            _ = backend.TryCholeskyInverse<double>(work, Triangle.Lower);
            Array.Copy(spd, work, spd.Length);
            _ = backend.TryInvertPositiveDefinite<double>(work, Triangle.Upper);
            Array.Copy(spd, work, spd.Length);
            _ = backend.TrySymmetricEigen<double>(work, Triangle.Lower, w);
        }

        RunAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}

/// <summary>After a warm-up call, every backend's kernels allocate nothing, at an order where the native backend takes
/// its scratch-matrix paths (MKL's upper-SYRK detour) and the managed eigensolver divides and conquers.</summary>
public class KernelAllocationAllBackendsTests
{
    [Theory]
    [MemberData(nameof(Curvature.Tests.TestKit.TestBackends.Names), MemberType = typeof(Curvature.Tests.TestKit.TestBackends))]
    public void Kernels_AllocateNothingInSteadyState(string name)
    {
        const int n = 390, k = 130;
        var backend = Curvature.Tests.TestKit.TestBackends.Get(name);
        var rng = new Random(3);
        var a = new double[k * n];
        var af = new float[k * n];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = rng.NextDouble() - 0.5;
            af[i] = (float)a[i];
        }

        var c = new double[n * n];
        var cf = new float[n * n];
        var spd = new double[n * n];
        backend.SymmetricRankKUpdate<double>(new(a, k, n), RankKForm.TransposeTimesMatrix, new(spd, n, n), Triangle.Lower, 1, 0);
        for (int i = 0; i < n; i++)
        {
            spd[(i * n) + i] += n;
            for (int j = 0; j < i; j++)
            {
                spd[(j * n) + i] = spd[(i * n) + j];
            }
        }

        var work = new double[n * n];
        var w = new double[n];
        var g = new double[n * n];

        void RunAll()
        {
            backend.SymmetricRankKUpdate<double>(new(a, k, n), RankKForm.TransposeTimesMatrix, new(c, n, n), Triangle.Lower, 0.5, 0.95);
            backend.SymmetricRankKUpdate<float>(new(af, k, n), RankKForm.TransposeTimesMatrix, new(cf, n, n), Triangle.Lower, 0.5f, 0.95f);
            backend.MatrixMultiply<double>(new(spd, n, n), Transpose.None, new(c, n, n), Transpose.None, new(g, n, n), 1, 0);
            Array.Copy(spd, work, spd.Length);
            Assert.True(backend.TryInvertPositiveDefinite<double>(new(work, n, n), Triangle.Lower).Succeeded);
            Array.Copy(spd, work, spd.Length);
            Assert.True(backend.TrySymmetricEigen<double>(new(work, n, n), Triangle.Lower, w).Succeeded);
        }

        // Warm-up past the JIT's tiering (a method's switch to optimised code may allocate once on the calling thread).
        for (int i = 0; i < 32; i++)
        {
            RunAll();
        }

        Thread.Sleep(300);
        RunAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunAll();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
