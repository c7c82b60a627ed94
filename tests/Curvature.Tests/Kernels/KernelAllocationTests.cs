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
