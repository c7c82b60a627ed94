using System.Numerics;
using Curvature.Native.Interop;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>
/// The bare BLAS/LAPACK calls of the interleaved benchmark's B side, on raw pointers, through the function pointers of
/// the same library handle Curvature's native backend uses (nothing of Curvature's code runs in between: no validation,
/// no screen for non-finite values, no mirror, no transpose, no sign rule). Generic over float/double.
/// </summary>
internal static unsafe class BareRoutines
{
    /// <summary>Row-major <c>C = A·B</c>, all n × n, leading dimension n.</summary>
    public static void Gemm<T>(BlasLapackExports lib, int n, T* a, T* b, T* c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            lib.Gemm(false, false, n, n, n, 1.0, (double*)a, n, (double*)b, n, 0.0, (double*)c, n);
        }
        else
        {
            lib.Gemm(false, false, n, n, n, 1f, (float*)a, n, (float*)b, n, 0f, (float*)c, n);
        }
    }

    /// <summary>Row-major SYRK: one triangle of C (n × n) = α·AᵀA + β·C, A is k × n.</summary>
    public static void Syrk<T>(BlasLapackExports lib, bool lower, int n, int k, T alpha, T* a, T beta, T* c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            lib.Syrk(lower, true, n, k, double.CreateTruncating(alpha), (double*)a, n, double.CreateTruncating(beta), (double*)c, n);
        }
        else
        {
            lib.Syrk(lower, true, n, k, float.CreateTruncating(alpha), (float*)a, n, float.CreateTruncating(beta), (float*)c, n);
        }
    }

    /// <summary>?potrf then ?potri on the column-major triangle <paramref name="columnMajorUpper"/> ('U' is the row-major
    /// lower triangle); returns info.</summary>
    public static int CholeskyInverse<T>(BlasLapackExports lib, bool columnMajorUpper, int n, T* a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int info = typeof(T) == typeof(double)
            ? lib.Potrf(columnMajorUpper, n, (double*)a, n)
            : lib.Potrf(columnMajorUpper, n, (float*)a, n);
        if (info != 0)
        {
            return info;
        }

        return typeof(T) == typeof(double)
            ? lib.Potri(columnMajorUpper, n, (double*)a, n)
            : lib.Potri(columnMajorUpper, n, (float*)a, n);
    }

    /// <summary>?syevd (jobz 'V') on the column-major triangle ('U' is the row-major lower one); returns info.</summary>
    public static int Syevd<T>(BlasLapackExports lib, bool columnMajorUpper, int n, T* a, T* w, T* work, int lwork, int* iwork, int liwork)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        return typeof(T) == typeof(double)
            ? lib.Syevd(columnMajorUpper, n, (double*)a, n, (double*)w, (double*)work, lwork, iwork, liwork)
            : lib.Syevd(columnMajorUpper, n, (float*)a, n, (float*)w, (float*)work, lwork, iwork, liwork);
    }

    /// <summary>The ?syevd workspace sizes for order n (provider's query, at least LAPACK's documented minimum).</summary>
    public static (int Work, int IWork) SyevdWorkspace<T>(BlasLapackExports lib, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T query = T.Zero;
        int iquery = 0;
        T dummy = T.Zero;
        _ = Syevd(lib, true, n, &dummy, &dummy, &query, -1, &iquery, -1);
        long work = Math.Max(1 + (6L * n) + (2L * n * n), (long)Math.Ceiling(double.CreateTruncating(query)));
        long iwork = Math.Max(3 + (5L * n), iquery);
        return ((int)work, (int)iwork);
    }
}
