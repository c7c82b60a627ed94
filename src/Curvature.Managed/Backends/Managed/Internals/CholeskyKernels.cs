using System.Numerics;
using System.Runtime.CompilerServices;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// Blocked Cholesky factorisation (POTRF), inverse from the factor (POTRI = TRTRI + LAUUM) and solve (POTRS),
/// all expressed on a <see cref="StridedMatrix{T}"/> view of the <b>lower</b> factor L (the upper triangle of a
/// row-major matrix is passed as the transposed view, since U = Lᵀ). Only the lower triangle of the view is
/// read or written. The O(n³) work runs in <see cref="PackedGemm"/>; the small diagonal blocks are handled by
/// unblocked code, and triangular solves with a diagonal block multiply by its explicit inverse (computed by
/// substitution in a per-thread scratch block).
/// </summary>
/// <remarks>Algorithms as in LAPACK's <c>dpotrf</c> (right-looking variant), <c>dtrtri</c>, <c>dlauum</c> and <c>dpotrs</c>.</remarks>
internal static unsafe class CholeskyKernels
{
    /// <summary>Block size of the blocked algorithms.</summary>
    private const int NB = 64;

    /// <summary>Factors the lower triangle in place; returns LAPACK's info (1-based order of the first non-positive pivot, 0 on success).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Factor<T>(StridedMatrix<T> l, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = l.Rows;
        if (n <= NB)
        {
            return FactorUnblocked(l);
        }

        T* wData = KernelScratch.Get<T>(KernelScratch.Block, NB * NB);
        T* sData = KernelScratch.Get<T>(KernelScratch.Panel, (long)NB * n);
        for (int j = 0; j < n; j += NB)
        {
            int jb = Math.Min(NB, n - j);
            var l11 = l.Slice(j, j, jb, jb);
            int info = FactorUnblocked(l11);
            if (info != 0)
            {
                return j + info;
            }

            int m = n - j - jb;
            if (m == 0)
            {
                break;
            }

            // L21 ← A21·L11⁻ᵀ (TRSM as a product with the explicit inverse of the small diagonal block).
            var w = StridedMatrix<T>.RowMajor(wData, jb, jb, jb);
            InvertLowerInto(l11, w);
            var a21 = l.Slice(j + jb, j, m, jb);
            var s = StridedMatrix<T>.RowMajor(sData, m, jb, jb);
            Copy(a21, s);
            PackedGemm.Multiply(s, w.Transposed, a21, T.One, T.Zero, CFill.Full, false, threads);

            // A22 ← A22 − L21·L21ᵀ (SYRK on the lower triangle).
            PackedGemm.Multiply(a21, a21.Transposed, l.Slice(j + jb, j + jb, m, m), -T.One, T.One, CFill.Lower, false, threads);
        }

        return 0;
    }

    /// <summary>Replaces the factor L (lower triangle) by the lower triangle of A⁻¹ = L⁻ᵀL⁻¹; returns info (first zero diagonal, 1-based).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Inverse<T>(StridedMatrix<T> l, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = l.Rows;
        for (int i = 0; i < n; i++)
        {
            if (T.IsZero(l[i, i]))
            {
                return i + 1;
            }
        }

        T* wData = KernelScratch.Get<T>(KernelScratch.Block, NB * NB);
        T* sData = KernelScratch.Get<T>(KernelScratch.Panel, (long)NB * n);

        // TRTRI: L ← L⁻¹, block columns from the last one (the trailing part is already inverted).
        for (int j = (n - 1) / NB * NB; j >= 0; j -= NB)
        {
            int jb = Math.Min(NB, n - j);
            var l11 = l.Slice(j, j, jb, jb);
            var w = StridedMatrix<T>.RowMajor(wData, jb, jb, jb);
            InvertLowerInto(l11, w);
            int m = n - j - jb;
            if (m > 0)
            {
                var a21 = l.Slice(j + jb, j, m, jb);
                var s = StridedMatrix<T>.RowMajor(sData, m, jb, jb);
                PackedGemm.Multiply(a21, w, s, T.One, T.Zero, CFill.Full, false, threads);
                PackedGemm.Multiply(l.Slice(j + jb, j + jb, m, m), s, a21, -T.One, T.Zero, CFill.Full, aLowerTriangular: true, threads);
            }

            CopyLower(w, l11);
        }

        // LAUUM: L ← LᵀL (lower triangle), block rows from the top.
        for (int i = 0; i < n; i += NB)
        {
            int ib = Math.Min(NB, n - i);
            var l11 = l.Slice(i, i, ib, ib);
            var w = StridedMatrix<T>.RowMajor(wData, ib, ib, ib);
            CopyLowerWithZeros(l11, w);
            var a10 = l.Slice(i, 0, ib, i);
            if (i > 0)
            {
                var s = StridedMatrix<T>.RowMajor(sData, ib, i, i);
                Copy(a10, s);
                PackedGemm.Multiply(w.Transposed, s, a10, T.One, T.Zero, CFill.Full, false, threads);
            }

            PackedGemm.Multiply(w.Transposed, w, l11, T.One, T.Zero, CFill.Lower, false, threads);
            int m = n - i - ib;
            if (m > 0)
            {
                var l21 = l.Slice(i + ib, i, m, ib);
                if (i > 0)
                {
                    PackedGemm.Multiply(l21.Transposed, l.Slice(i + ib, 0, m, i), a10, T.One, T.One, CFill.Full, false, threads);
                }

                PackedGemm.Multiply(l21.Transposed, l21, l11, T.One, T.One, CFill.Lower, false, threads);
            }
        }

        return 0;
    }

    /// <summary>B ← (LLᵀ)⁻¹·B for B (n × k) with unit column stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Solve<T>(StridedMatrix<T> l, StridedMatrix<T> b, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = l.Rows, k = b.Cols;

        // Forward: L·Y = B.
        for (int i = 0; i < n; i += NB)
        {
            int ib = Math.Min(NB, n - i);
            if (i > 0)
            {
                PackedGemm.Multiply(l.Slice(i, 0, ib, i), b.Slice(0, 0, i, k), b.Slice(i, 0, ib, k), -T.One, T.One, CFill.Full, false, threads);
            }

            for (int r = i; r < i + ib; r++)
            {
                T* row = b.Ptr(r, 0);
                for (int p = i; p < r; p++)
                {
                    SimdOps.Axpy(row, b.Ptr(p, 0), -l[r, p], k);
                }

                SimdOps.Divide(row, l[r, r], k);
            }
        }

        // Backward: Lᵀ·X = Y.
        for (int i = (n - 1) / NB * NB; i >= 0; i -= NB)
        {
            int ib = Math.Min(NB, n - i);
            int m = n - i - ib;
            if (m > 0)
            {
                PackedGemm.Multiply(l.Slice(i + ib, i, m, ib).Transposed, b.Slice(i + ib, 0, m, k), b.Slice(i, 0, ib, k), -T.One, T.One, CFill.Full, false, threads);
            }

            for (int r = i + ib - 1; r >= i; r--)
            {
                T* row = b.Ptr(r, 0);
                for (int p = r + 1; p < i + ib; p++)
                {
                    SimdOps.Axpy(row, b.Ptr(p, 0), -l[p, r], k);
                }

                SimdOps.Divide(row, l[r, r], k);
            }
        }
    }

    /// <summary>Unblocked Cholesky; on failure the non-positive pivot is stored like LAPACK's <c>dpotf2</c>.
    /// Uses the dot-product form on contiguous rows (lower storage) or the outer-product form on contiguous
    /// columns of the view (upper storage), vectorised either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int FactorUnblocked<T>(StridedMatrix<T> l)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = l.Rows;
        if (l.ColStride == 1)
        {
            for (int j = 0; j < n; j++)
            {
                T* lj = l.Ptr(j, 0);
                T d = lj[j] - SimdOps.Dot(lj, lj, j);
                if (!(d > T.Zero))
                {
                    lj[j] = d;
                    return j + 1;
                }

                d = T.Sqrt(d);
                lj[j] = d;
                for (int i = j + 1; i < n; i++)
                {
                    T* li = l.Ptr(i, 0);
                    li[j] = (li[j] - SimdOps.Dot(li, lj, j)) / d;
                }
            }

            return 0;
        }

        if (l.RowStride == 1)
        {
            // Column j of the view is contiguous: right-looking, trailing columns updated by axpy.
            for (int j = 0; j < n; j++)
            {
                T* cj = l.Ptr(j, j); // elements (j.., j)
                T d = cj[0];
                if (!(d > T.Zero))
                {
                    return j + 1;
                }

                d = T.Sqrt(d);
                cj[0] = d;
                SimdOps.Divide(cj + 1, d, n - j - 1);
                for (int k = j + 1; k < n; k++)
                {
                    SimdOps.Axpy(l.Ptr(k, k), cj + (k - j), -cj[k - j], n - k);
                }
            }

            return 0;
        }

        for (int j = 0; j < n; j++)
        {
            T d = l[j, j];
            for (int p = 0; p < j; p++)
            {
                T v = l[j, p];
                d -= v * v;
            }

            if (!(d > T.Zero))
            {
                l[j, j] = d;
                return j + 1;
            }

            d = T.Sqrt(d);
            l[j, j] = d;
            for (int i = j + 1; i < n; i++)
            {
                T s = l[i, j];
                for (int p = 0; p < j; p++)
                {
                    s -= l[i, p] * l[j, p];
                }

                l[i, j] = s / d;
            }
        }

        return 0;
    }

    /// <summary>W ← L⁻¹ for a small lower-triangular L (W dense row-major with unit column stride, zeros above the
    /// diagonal), row by row: W[i, 0:i] = −(Σ_{p&lt;i} L[i,p]·W[p, 0:i]) / L[i,i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InvertLowerInto<T>(StridedMatrix<T> l, StridedMatrix<T> w)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = l.Rows;
        for (int i = 0; i < n; i++)
        {
            T* wi = w.Ptr(i, 0);
            new Span<T>(wi, n).Clear();
            for (int p = 0; p < i; p++)
            {
                SimdOps.Axpy(wi, w.Ptr(p, 0), -l[i, p], p + 1);
            }

            T inv = T.One / l[i, i];
            for (int j = 0; j < i; j++)
            {
                wi[j] *= inv;
            }

            wi[i] = inv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Copy<T>(StridedMatrix<T> from, StridedMatrix<T> to)
        where T : unmanaged
    {
        for (int i = 0; i < from.Rows; i++)
        {
            for (int j = 0; j < from.Cols; j++)
            {
                to[i, j] = from[i, j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyLower<T>(StridedMatrix<T> from, StridedMatrix<T> to)
        where T : unmanaged
    {
        for (int i = 0; i < from.Rows; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                to[i, j] = from[i, j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyLowerWithZeros<T>(StridedMatrix<T> from, StridedMatrix<T> to)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < from.Rows; i++)
        {
            for (int j = 0; j < from.Cols; j++)
            {
                to[i, j] = j <= i ? from[i, j] : T.Zero;
            }
        }
    }
}
