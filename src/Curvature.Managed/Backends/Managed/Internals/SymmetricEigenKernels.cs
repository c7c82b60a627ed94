using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// Real symmetric eigensolver: Householder reduction to tridiagonal form (blocked, with rank-2k trailing updates
/// through the packed GEMM, from order 160), the implicit QL algorithm with
/// Wilkinson-type shifts on the tridiagonal matrix (rotations recorded per sweep and applied to the eigenvector
/// rows in cache-friendly chunks), back-transformation by the stored reflectors, eigenvalues sorted ascending.
/// </summary>
/// <remarks>
/// Algorithms as in Golub and Van Loan, "Matrix Computations" (4th ed.), §8.3 (tridiagonalisation) and the
/// implicit QL iteration of Bowdler, Martin, Reinsch and Wilkinson (Numer. Math. 11, 1968; EISPACK <c>tql2</c>).
/// <c>float</c> input is computed in <c>float</c> (like LAPACK <c>ssyevd</c>): eigenvalues are accurate to about
/// n·2⁻²³·‖A‖ and eigenvectors are orthonormal to about n·2⁻²³. An off-diagonal entry is negligible when it is
/// below ε times its diagonal neighbours or ε times the tridiagonal matrix's scale (EISPACK <c>tql2</c>'s test);
/// the iteration gets at most 30·n QL sweeps in all (as LAPACK <c>?steqr</c>); if that is not enough (e.g. NaN
/// input) the routine returns <c>info = l + 1</c> for the first unconverged index l.
/// </remarks>
[SkipLocalsInit]
internal static unsafe class SymmetricEigenKernels
{
    private const int MaxSweepsPerEigenvalue = 30;

    /// <summary>Rotations buffered before they are applied: this many times n.</summary>
    private const int RotationBatchFactor = 24;

    /// <summary>Sweeps buffered before they are applied.</summary>
    private const int MaxBatchSweeps = 512;

    /// <summary>
    /// Eigendecomposition of the symmetric matrix whose <paramref name="lower"/> (or upper) triangle is in the
    /// row-major <paramref name="a"/> (unit column stride). On success <paramref name="a"/> holds the eigenvectors
    /// as columns and <paramref name="eigenvalues"/> the eigenvalues ascending; returns LAPACK-style info.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Decompose<T>(StridedMatrix<T> a, bool lower, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;

        // The reduction works on the upper triangle: copy a lower input there (a is overwritten by the result anyway).
        if (lower)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    a[j, i] = a[i, j];
                }
            }
        }

        // Like LAPACK ?syevd: bring the matrix into the range where the reduction and the iteration neither overflow
        // nor underflow (max |a_ij| within [√(safmin/ε), √(1/(safmin/ε))]); scaling by a power of two is exact, and
        // the eigenvalues are scaled back at the end. Matrices already in that range are not touched.
        int exponent = SafeRangeExponent(a);
        if (exponent != 0)
        {
            for (int i = 0; i < n; i++)
            {
                T* row = a.Ptr(i, 0);
                for (int j = i; j < n; j++)
                {
                    row[j] = T.ScaleB(row[j], exponent);
                }
            }
        }

        T* work = KernelScratch.Get<T>(KernelScratch.EigenWork, 5L * n);
        T* d = work;
        T* e = d + n;
        T* tau = e + n;
        T* buffer0 = tau + n;
        T* buffer1 = buffer0 + n;
        T* zt = KernelScratch.Get<T>(KernelScratch.EigenVectors, (long)n * n);
        var z = StridedMatrix<T>.RowMajor(zt, n, n, n);

        int start = n >= BlockedReductionMinOrder ? TridiagonalizeBlocked(a, d, e, tau, buffer0) : 0;
        Tridiagonalize(a, start, d, e, tau, buffer0, buffer1);

        // Eigenpairs of the tridiagonal matrix: z's columns, d by column, order = ascending columns.
        int* order = KernelScratch.Get<int>(KernelScratch.EigenResultOrder, n);
        int info = TridiagonalDivideAndConquer.Solve(d, e, n, z, order);
        if (info != 0)
        {
            return info;
        }

        // Eigenvectors of A = Q·z (Q = H₀⋯H_{n−3}), then written into a in ascending order of the eigenvalues.
        ApplyReflectorsFromLeft(a, tau, z);
        for (int j = 0; j < n; j++)
        {
            eigenvalues[j] = T.ScaleB(d[order[j]], -exponent);
        }

        for (int r = 0; r < n; r++)
        {
            T* dst = a.Ptr(r, 0);
            T* src = z.Ptr(r, 0);
            for (int j = 0; j < n; j++)
            {
                dst[j] = src[order[j]];
            }
        }

        return 0;
    }

    /// <summary>
    /// Implicit QL on the tridiagonal (d, e) of order n (e destroyed), with the rotations accumulated into the rows of
    /// <paramref name="z"/> (unit column stride; eigenvectors end up as its rows, eigenvalues unsorted in d).
    /// Returns 0, or info = l + 1 for the first eigenvalue index l that did not converge.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int TridiagonalQlWithVectors<T>(T* d, T* e, int n, StridedMatrix<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long capacity = (long)RotationBatchFactor * n;
        T* rotations = KernelScratch.Get<T>(KernelScratch.EigenRotations, 2 * (capacity + n));
        int* sweeps = KernelScratch.Get<int>(KernelScratch.EigenOrder, Math.Max(n, 2 * MaxBatchSweeps));
        return TridiagonalQl(d, e, n, z, rotations, rotations + capacity + n, (int)capacity, sweeps);
    }

    /// <summary>
    /// The power of two k that brings max |a_ij| of the upper triangle into [rmin, rmax] with rmin = √(safmin/ε),
    /// rmax = 1/rmin (LAPACK ?syev/?syevd's bounds), or 0 when it is already there (or the matrix is zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SafeRangeExponent<T>(StridedMatrix<T> a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        T norm = T.Zero;
        for (int i = 0; i < n; i++)
        {
            T* row = a.Ptr(i, 0);
            for (int j = i; j < n; j++)
            {
                norm = T.Max(norm, T.Abs(row[j]));
            }
        }

        // safmin/ε: 2⁻¹⁰²²/2⁻⁵³ (double), 2⁻¹²⁶/2⁻²⁴ (float); rmin is its square root, rmax = 1/rmin.
        int rminExponent = typeof(T) == typeof(double) ? -(1022 - 53) / 2 : -(126 - 24) / 2;
        if (T.IsZero(norm))
        {
            return 0;
        }

        int e = T.ILogB(norm);
        if (e < rminExponent)
        {
            return rminExponent - e;
        }

        return e > -rminExponent ? -rminExponent - e : 0;
    }

    /// <summary>Order from which the reduction is blocked (below it the unblocked one-pass form is faster).</summary>
    private const int BlockedReductionMinOrder = 160;

    /// <summary>Reflectors per panel of the blocked reduction.</summary>
    private const int ReductionBlock = 32;

    /// <summary>The blocked reduction stops when this many rows remain; the unblocked form finishes them.</summary>
    private const int UnblockedTail = 96;

    /// <summary>
    /// Blocked Householder tridiagonalisation (LAPACK <c>?sytrd</c>/<c>?latrd</c> structure, Golub and Van Loan
    /// §8.3.1 with the panel form of Dongarra, Hammarling and Sorensen, 1989) of the leading rows of the matrix in the
    /// upper triangle of <paramref name="a"/>: for each panel of <see cref="ReductionBlock"/> reflectors only the
    /// panel rows are updated as the reflectors are formed, their vectors V and W (with A ← A − V·Wᵀ − W·Vᵀ) are
    /// collected, and the trailing matrix gets the whole panel's rank-2k update at once through the packed GEMM
    /// (SYR2K-style, upper triangle only). Produces the same d, e, tau and stored reflectors as the unblocked
    /// form; returns the index from which the unblocked form must continue (the trailing matrix is up to date there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int TridiagonalizeBlocked<T>(StridedMatrix<T> a, T* d, T* e, T* tau, T* p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        const int nb = ReductionBlock;
        const int width = 2 * nb;
        T half = T.CreateTruncating(0.5);

        // Panel storage, one row per coordinate c ≥ i0 (row c − i0): left[c] = [V(c, ·) | W(c, ·)],
        // right[c] = [W(c, ·) | V(c, ·)], so A(r, c) −= left[c]·right[r] and the trailing update is −left·rightᵀ.
        T* left = KernelScratch.Get<T>(KernelScratch.EigenReduction, 2L * n * width);
        T* right = left + ((long)n * width);
        T* u = stackalloc T[width];

        int i0 = 0;
        for (; n - i0 - nb > UnblockedTail; i0 += nb)
        {
            int m = n - i0;
            new Span<T>(left, m * width).Clear();
            new Span<T>(right, m * width).Clear();
            for (int k = 0; k < nb; k++)
            {
                int i = i0 + k;
                int len = n - i - 1;

                // Bring row i (coordinates i ..) up to date with the panel's earlier reflectors.
                T* rowI = a.Ptr(i, i);
                T* rightI = right + ((long)k * width);
                if (k > 0)
                {
                    for (int c = 0; c <= len; c++)
                    {
                        rowI[c] -= SimdOps.Dot(left + ((long)(k + c) * width), rightI, width);
                    }
                }

                d[i] = rowI[0];

                // Reflector H = I − τ·v·vᵀ with H·x = β·e₁ (len ≥ 2 here).
                T* x = rowI + 1;
                T t = MakeReflector(x, len, out e[i]);
                tau[i] = t;

                // p = A22·v from the stored upper half of the trailing rows (not yet updated by this panel) ...
                new Span<T>(p, len).Clear();
                if (!T.IsZero(t))
                {
                    for (int r = 0; r < len; r++)
                    {
                        int g = i + 1 + r;
                        p[r] += SymmetricRank2Dot(a.Ptr(g, g), null, null, T.Zero, T.Zero, x + r, p + r, len - r);
                    }

                    // ... minus the panel's pending part: p −= V·(Wᵀv) + W·(Vᵀv) = left·(rightᵀ v).
                    if (k > 0)
                    {
                        new Span<T>(u, width).Clear();
                        for (int r = 0; r < len; r++)
                        {
                            SimdOps.Axpy(u, right + ((long)(k + 1 + r) * width), x[r], width);
                        }

                        for (int r = 0; r < len; r++)
                        {
                            p[r] -= SimdOps.Dot(left + ((long)(k + 1 + r) * width), u, width);
                        }
                    }

                    // w = τ·p − (τ/2)(τ·pᵀv)·v.
                    for (int r = 0; r < len; r++)
                    {
                        p[r] *= t;
                    }

                    SimdOps.Axpy(p, x, -half * t * SimdOps.Dot(p, x, len), len);
                }

                for (int r = 0; r < len; r++)
                {
                    T* l = left + ((long)(k + 1 + r) * width);
                    T* rr = right + ((long)(k + 1 + r) * width);
                    l[k] = x[r];
                    rr[nb + k] = x[r];
                    l[nb + k] = p[r];
                    rr[k] = p[r];
                }
            }

            // Trailing rows: A ← A − left·rightᵀ on the upper triangle.
            int t0 = i0 + nb;
            int mt = n - t0;
            var leftTail = StridedMatrix<T>.RowMajor(left + ((long)nb * width), mt, width, width);
            var rightTail = StridedMatrix<T>.RowMajor(right + ((long)nb * width), mt, width, width);
            PackedGemm.Multiply(leftTail, rightTail.Transposed, a.Slice(t0, t0, mt, mt), -T.One, T.One, CFill.Upper);
        }

        return i0;
    }

    /// <summary>
    /// Householder tridiagonalisation of the symmetric matrix stored in the upper triangle of <paramref name="a"/>
    /// (row-major, unit column stride; only the upper triangle is read and updated), from row
    /// <paramref name="start"/> on (rows above it already reduced, the trailing matrix up to date).
    /// Step i annihilates row i beyond the superdiagonal; its reflector v (v₀ = 1) is left in a[i, i+1 ..] and its
    /// scale in tau[i]. d gets the diagonal, e[i] = T[i, i+1]. The rank-2 update of step i − 1 is fused with the
    /// matrix–vector product of step i, so each step makes one pass over the trailing matrix.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tridiagonalize<T>(StridedMatrix<T> a, int start, T* d, T* e, T* tau, T* buffer0, T* buffer1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        T half = T.CreateTruncating(0.5);
        T* wPrev = buffer0; // w of the pending update (index 0 ↔ coordinate i)
        T* wCur = buffer1;
        T* xPrev = null;    // v of the pending update (index 0 ↔ coordinate i)
        for (int i = start; i < n; i++)
        {
            int len = n - i - 1;
            if (xPrev != null)
            {
                Rank2(a.Ptr(i, i), xPrev, wPrev, xPrev[0], wPrev[0], len + 1);
            }

            d[i] = a[i, i];
            tau[i] = T.Zero;
            if (len <= 0)
            {
                e[i] = T.Zero;
                break;
            }

            T* x = a.Ptr(i, i + 1);
            bool reflect = false;
            T t = T.Zero;
            if (len == 1)
            {
                e[i] = x[0];
            }
            else
            {
                t = MakeReflector(x, len, out e[i]);
                tau[i] = t;
                reflect = !T.IsZero(t);
            }

            // One pass over the upper triangle of rows i+1..: apply the pending update, then accumulate
            // p = τ·A22·v from the stored half (row r contributes to p[r] and, by symmetry, to p[c > r]).
            if (reflect)
            {
                new Span<T>(wCur, len).Clear();
            }

            for (int r = 0; r < len; r++)
            {
                int g = i + 1 + r;      // coordinate of the row
                T* row = a.Ptr(g, g);   // its upper part: coordinates g .. n−1
                int seg = len - r;
                if (xPrev != null)
                {
                    int o = g - i;      // offset of coordinate g in the pending vectors
                    if (reflect)
                    {
                        wCur[r] += SymmetricRank2Dot(row, xPrev + o, wPrev + o, xPrev[o], wPrev[o], x + r, wCur + r, seg);
                    }
                    else
                    {
                        Rank2(row, xPrev + o, wPrev + o, xPrev[o], wPrev[o], seg);
                    }
                }
                else if (reflect)
                {
                    wCur[r] += SymmetricRank2Dot(row, null, null, T.Zero, T.Zero, x + r, wCur + r, seg);
                }
            }

            if (reflect)
            {
                for (int r = 0; r < len; r++)
                {
                    wCur[r] *= t;
                }
            }

            if (reflect)
            {
                // w = p − (τ/2)(pᵀv)·v; the update A22 −= v·wᵀ + w·vᵀ is applied in the next step's pass.
                T k = -half * t * SimdOps.Dot(wCur, x, len);
                SimdOps.Axpy(wCur, x, k, len);
                xPrev = x;
                T* swap = wPrev;
                wPrev = wCur;
                wCur = swap;
            }
            else
            {
                xPrev = null;
            }
        }
    }

    /// <summary>row[c] −= xr·w[c] + wr·x[c] for c &lt; len.</summary>
    private static void Rank2<T>(T* row, T* x, T* w, T xr, T wr, int len)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (VectorWidth.Bits)
        {
            case 512:
                Rank2<Wide512<T>, Vector512<T>, T>(row, x, w, xr, wr, len);
                break;
            case 256:
                Rank2<Wide256<T>, Vector256<T>, T>(row, x, w, xr, wr, len);
                break;
            case 128:
                Rank2<Wide128<T>, Vector128<T>, T>(row, x, w, xr, wr, len);
                break;
            default:
                for (int c = 0; c < len; c++)
                {
                    row[c] -= (xr * w[c]) + (wr * x[c]);
                }

                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rank2<TOps, TVec, T>(T* row, T* x, T* w, T xr, T wr, int len)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = 0, vw = TOps.Count;
        var vx = TOps.Broadcast(xr);
        var vwr = TOps.Broadcast(wr);
        for (; c <= len - vw; c += vw)
        {
            var v = TOps.MultiplyAddNegated(vx, TOps.Load(w + c), TOps.Load(row + c));
            TOps.Store(TOps.MultiplyAddNegated(vwr, TOps.Load(x + c), v), row + c);
        }

        for (; c < len; c++)
        {
            row[c] -= (xr * w[c]) + (wr * x[c]);
        }
    }

    /// <summary>
    /// The fused step on one row of the stored upper half (element 0 is the diagonal): when <paramref name="x"/> is
    /// not null, row[c] −= xr·w[c] + wr·x[c]; then p[c] += row[c]·v[0] for c ≥ 1 (the symmetric contribution) and the
    /// return value is Σ row[c]·v[c].
    /// </summary>
    private static T SymmetricRank2Dot<T>(T* row, T* x, T* w, T xr, T wr, T* v, T* p, int len)
        where T : unmanaged, IFloatingPointIeee754<T> => VectorWidth.Bits switch
        {
            512 => SymmetricRank2Dot<Wide512<T>, Vector512<T>, T>(row, x, w, xr, wr, v, p, len),
            256 => SymmetricRank2Dot<Wide256<T>, Vector256<T>, T>(row, x, w, xr, wr, v, p, len),
            128 => SymmetricRank2Dot<Wide128<T>, Vector128<T>, T>(row, x, w, xr, wr, v, p, len),
            _ => SymmetricRank2DotScalar(row, x, w, xr, wr, v, p, len, 1, DiagonalTerm<T>(row, x, w, xr, wr, v)),
        };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T SymmetricRank2Dot<TOps, TVec, T>(T* row, T* x, T* w, T xr, T wr, T* v, T* p, int len)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool update = x != null;
        T sum = DiagonalTerm<T>(row, x, w, xr, wr, v);
        T vr = v[0];
        int c = 1, vw = TOps.Count;
        var vx = TOps.Broadcast(xr);
        var vwr = TOps.Broadcast(wr);
        var vvr = TOps.Broadcast(vr);
        var acc0 = TOps.Zero;
        var acc1 = TOps.Zero;
        for (; c <= len - (2 * vw); c += 2 * vw)
        {
            var r0 = TOps.Load(row + c);
            var r1 = TOps.Load(row + c + vw);
            if (update)
            {
                r0 = TOps.MultiplyAddNegated(vx, TOps.Load(w + c), r0);
                r1 = TOps.MultiplyAddNegated(vx, TOps.Load(w + c + vw), r1);
                r0 = TOps.MultiplyAddNegated(vwr, TOps.Load(x + c), r0);
                r1 = TOps.MultiplyAddNegated(vwr, TOps.Load(x + c + vw), r1);
                TOps.Store(r0, row + c);
                TOps.Store(r1, row + c + vw);
            }

            acc0 = TOps.MultiplyAdd(r0, TOps.Load(v + c), acc0);
            acc1 = TOps.MultiplyAdd(r1, TOps.Load(v + c + vw), acc1);
            TOps.Store(TOps.MultiplyAdd(r0, vvr, TOps.Load(p + c)), p + c);
            TOps.Store(TOps.MultiplyAdd(r1, vvr, TOps.Load(p + c + vw)), p + c + vw);
        }

        sum += TOps.Sum(TOps.Add(acc0, acc1));
        return SymmetricRank2DotScalar(row, x, w, xr, wr, v, p, len, c, sum);
    }

    /// <summary>The diagonal element of <see cref="SymmetricRank2Dot{T}"/>: updated, stored, and its term of the sum.</summary>
    private static T DiagonalTerm<T>(T* row, T* x, T* w, T xr, T wr, T* v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T d0 = x != null ? row[0] - ((xr * w[0]) + (wr * x[0])) : row[0];
        row[0] = d0;
        return d0 * v[0];
    }

    /// <summary>Elements from <paramref name="c"/> on of <see cref="SymmetricRank2Dot{T}"/>, added to <paramref name="sum"/>.</summary>
    private static T SymmetricRank2DotScalar<T>(T* row, T* x, T* w, T xr, T wr, T* v, T* p, int len, int c, T sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool update = x != null;
        T vr = v[0];
        for (; c < len; c++)
        {
            T r = update ? row[c] - ((xr * w[c]) + (wr * x[c])) : row[c];
            row[c] = r;
            sum += r * v[c];
            p[c] += r * vr;
        }

        return sum;
    }

    /// <summary>Implicit QL with shifts on (d, e); rotations are accumulated into the rows of <paramref name="z"/> (eigenvectors as rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int TridiagonalQl<T>(T* d, T* e, int n, StridedMatrix<T> z, T* allC, T* allS, int capacity, int* sweeps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int recorded = 0, sweepCount = 0;
        T eps = typeof(T) == typeof(double) ? T.CreateTruncating(2.220446049250313e-16) : T.CreateTruncating(1.1920929e-7);
        T two = T.CreateTruncating(2);
        e[n - 1] = T.Zero;

        // Negligible off-diagonal: relative to its diagonal neighbours, or (as EISPACK tql2) to the matrix scale.
        // The absolute test is what lets clusters of zero eigenvalues (rank-deficient Gram matrices) split: there
        // both neighbours tend to zero and the relative test alone may never be met.
        T scale = T.Zero;
        for (int i = 0; i < n; i++)
        {
            scale = T.Max(scale, T.Abs(d[i]) + T.Abs(e[i]));
        }

        T absoluteTolerance = eps * scale;
        int sweepBudget = MaxSweepsPerEigenvalue * n; // LAPACK ?steqr: at most 30·n iterations in all
        for (int l = 0; l < n; l++)
        {
            while (true)
            {
                int m = l;
                for (; m < n - 1; m++)
                {
                    T dd = T.Abs(d[m]) + T.Abs(d[m + 1]);
                    T off = T.Abs(e[m]);
                    if (off <= eps * dd || off <= absoluteTolerance)
                    {
                        break;
                    }
                }

                if (m == l)
                {
                    break;
                }

                if (--sweepBudget < 0 || !T.IsFinite(scale))
                {
                    return l + 1;
                }

                // Shift from the leading 2 × 2 block (Wilkinson), folded into the first rotation.
                T g = (d[l + 1] - d[l]) / (two * e[l]);
                T r = Hypot(g, T.One);
                g = d[m] - d[l] + (e[l] / (g + T.CopySign(r, g)));
                T s = T.One, c = T.One, p = T.Zero;
                int count = 0;
                T* rotC = allC + recorded;
                T* rotS = allS + recorded;
                bool deflated = false;
                for (int i = m - 1; i >= l; i--)
                {
                    T f = s * e[i];
                    T b = c * e[i];
                    r = Hypot(f, g);
                    e[i + 1] = r;
                    if (T.IsZero(r))
                    {
                        d[i + 1] -= p;
                        e[m] = T.Zero;
                        deflated = true;
                        break;
                    }

                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = ((d[i] - g) * s) + (two * c * b);
                    p = s * r;
                    d[i + 1] = g + p;
                    g = (c * r) - b;
                    rotC[count] = c;
                    rotS[count] = s;
                    count++;
                }

                // Record the sweep; rotations are applied in batches (see ApplyRotationBatch).
                sweeps[2 * sweepCount] = m;
                sweeps[(2 * sweepCount) + 1] = count;
                sweepCount++;
                recorded += count;
                if (recorded > capacity - n || sweepCount == MaxBatchSweeps)
                {
                    ApplyRotationBatch(z, sweeps, sweepCount, allC, allS);
                    recorded = sweepCount = 0;
                }
                if (deflated)
                {
                    continue;
                }

                d[l] -= p;
                e[l] = g;
                e[m] = T.Zero;
            }
        }

        ApplyRotationBatch(z, sweeps, sweepCount, allC, allS);
        return 0;
    }

    /// <summary>
    /// Applies a batch of recorded sweeps to z, one column block at a time: the block (all rows, 8 vectors wide)
    /// stays in cache while every sweep of the batch passes over it, so z streams from memory once per batch instead
    /// of once per sweep.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRotationBatch<T>(StridedMatrix<T> z, int* sweeps, int sweepCount, T* allC, T* allS)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = z.Cols;
        int block = 8 * Vector256<T>.Count;
        for (int col0 = 0; col0 < n; col0 += block)
        {
            int width = Math.Min(block, n - col0);
            int offset = 0;
            for (int q = 0; q < sweepCount; q++)
            {
                int count = sweeps[(2 * q) + 1];
                ApplyRotationChain(z.Slice(0, col0, z.Rows, width), sweeps[2 * q], count, allC + offset, allS + offset);
                offset += count;
            }
        }
    }

    /// <summary>
    /// Applies the rotations of one sweep to the rows of z: rotation q acts on rows (i, i+1) with i = top − 1 − q,
    /// as row[i+1] ← s·row[i] + c·row[i+1], row[i] ← c·row[i] − s·row[i+1]. The running row is kept in registers,
    /// so each rotation costs one load and one store per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRotationChain<T>(StridedMatrix<T> z, int top, int count, T* rotC, T* rotS)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (count == 0)
        {
            return;
        }

        int n = z.Cols;
        nint rs = z.RowStride;
        int col = 0;
        if (VectorWidth.Bits >= 256)
        {
            // Eight independent vector chains hide the latency of the carried row (multiply + FMA per rotation).
            int w = Vector256<T>.Count;
            for (; col <= n - (8 * w); col += 8 * w)
            {
                T* rowI = z.Ptr(top, col);
                var k0 = Vector256.Load(rowI);
                var k1 = Vector256.Load(rowI + w);
                var k2 = Vector256.Load(rowI + (2 * w));
                var k3 = Vector256.Load(rowI + (3 * w));
                var k4 = Vector256.Load(rowI + (4 * w));
                var k5 = Vector256.Load(rowI + (5 * w));
                var k6 = Vector256.Load(rowI + (6 * w));
                var k7 = Vector256.Load(rowI + (7 * w));
                for (int q = 0; q < count; q++)
                {
                    T* next = rowI - rs;
                    var vc = Vector256.Create(rotC[q]);
                    var vs = Vector256.Create(rotS[q]);
                    Rotate(next, rowI, vc, vs, ref k0);
                    Rotate(next + w, rowI + w, vc, vs, ref k1);
                    Rotate(next + (2 * w), rowI + (2 * w), vc, vs, ref k2);
                    Rotate(next + (3 * w), rowI + (3 * w), vc, vs, ref k3);
                    Rotate(next + (4 * w), rowI + (4 * w), vc, vs, ref k4);
                    Rotate(next + (5 * w), rowI + (5 * w), vc, vs, ref k5);
                    Rotate(next + (6 * w), rowI + (6 * w), vc, vs, ref k6);
                    Rotate(next + (7 * w), rowI + (7 * w), vc, vs, ref k7);
                    rowI = next;
                }

                Vector256.Store(k0, rowI);
                Vector256.Store(k1, rowI + w);
                Vector256.Store(k2, rowI + (2 * w));
                Vector256.Store(k3, rowI + (3 * w));
                Vector256.Store(k4, rowI + (4 * w));
                Vector256.Store(k5, rowI + (5 * w));
                Vector256.Store(k6, rowI + (6 * w));
                Vector256.Store(k7, rowI + (7 * w));
            }

            for (; col <= n - w; col += w)
            {
                T* rowI = z.Ptr(top, col);
                var k0 = Vector256.Load(rowI);
                for (int q = 0; q < count; q++)
                {
                    T* next = rowI - rs;
                    Rotate(next, rowI, Vector256.Create(rotC[q]), Vector256.Create(rotS[q]), ref k0);
                    rowI = next;
                }

                Vector256.Store(k0, rowI);
            }
        }

        for (; col < n; col++)
        {
            T* rowI = z.Ptr(top, col);
            T carry = *rowI;
            for (int q = 0; q < count; q++)
            {
                T* next = rowI - rs;
                T x = *next;
                *rowI = (rotS[q] * x) + (rotC[q] * carry);
                carry = (rotC[q] * x) - (rotS[q] * carry);
                rowI = next;
            }

            *rowI = carry;
        }
    }

    /// <summary>One rotation of the chain on one vector: stores the finished row below, keeps the running row in <paramref name="carry"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rotate<T>(T* next, T* done, Vector256<T> c, Vector256<T> s, ref Vector256<T> carry)
        where T : unmanaged
    {
        var x = Vector256.Load(next);
        Vector256.Store(Wide256<T>.MultiplyAdd(s, x, c * carry), done);
        carry = Wide256<T>.MultiplyAddNegated(s, carry, c * x);
    }

    /// <summary>Reflectors per block of the compact-WY back-transformation.</summary>
    private const int WyBlock = 64;

    /// <summary>
    /// z ← Q·z with Q = H₀·H₁⋯H_{n−3} (the reduction's reflectors: vᵢ in a[i, i+1 ..] with vᵢ[0] = 1, τᵢ in tau), so
    /// the eigenvectors of the tridiagonal matrix (columns of z) become those of A. Reflectors are applied in blocks of
    /// <see cref="WyBlock"/>, last block first, in compact WY form P = I − Y·T·Yᵀ (Schreiber and Van Loan, SIAM J. Sci.
    /// Stat. Comput. 10(1), 1989; LAPACK <c>dlarft</c>/<c>dlarfb</c>): z ← z − Y·(T·(Yᵀ·z)), two GEMMs per block on
    /// contiguous rows of z.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyReflectorsFromLeft<T>(StridedMatrix<T> a, T* tau, StridedMatrix<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        int reflectors = n - 2;
        if (reflectors <= 0)
        {
            return;
        }

        T* tData = KernelScratch.Get<T>(KernelScratch.Block, WyBlock * WyBlock);
        T* yData = KernelScratch.Get<T>(KernelScratch.Panel, (long)WyBlock * n);
        T* wData = KernelScratch.Get<T>(KernelScratch.EigenPanel, (long)WyBlock * n);
        for (int j = (reflectors - 1) / WyBlock * WyBlock; j >= 0; j -= WyBlock)
        {
            int nb = Math.Min(WyBlock, reflectors - j);
            int len = n - j - 1; // the block acts on coordinates j+1 .. n−1

            // Yᵀ (nb × len): row q is reflector j+q, zero before its unit leading entry.
            var yt = StridedMatrix<T>.RowMajor(yData, nb, len, len);
            for (int q = 0; q < nb; q++)
            {
                T* dst = yt.Ptr(q, 0);
                new Span<T>(dst, q).Clear();
                new Span<T>(a.Ptr(j + q, j + 1 + q), len - q).CopyTo(new Span<T>(dst + q, len - q));
            }

            // T (nb × nb, upper): T[q,q] = τ_q, T[0:q, q] = −τ_q·T[0:q, 0:q]·(Yᵀ[0:q]·y_q).
            var tm = StridedMatrix<T>.RowMajor(tData, nb, nb, nb);
            for (int q = 0; q < nb; q++)
            {
                T tq = tau[j + q];
                for (int p = 0; p < q; p++)
                {
                    tm[q, p] = T.Zero;
                    tm[p, q] = -tq * SimdOps.Dot(yt.Ptr(p, q), yt.Ptr(q, q), len - q);
                }

                for (int p = 0; p < q; p++)
                {
                    T sum = T.Zero;
                    for (int r = p; r < q; r++)
                    {
                        sum += tm[p, r] * tm[r, q];
                    }

                    tm[p, q] = sum;
                }

                tm[q, q] = tq;
            }

            // W = Yᵀ·z[j+1:, :]; W ← T·W (row q from rows q.. of the old W); z[j+1:, :] −= Y·W.
            var zs = z.Slice(j + 1, 0, len, n);
            var w = StridedMatrix<T>.RowMajor(wData, nb, n, n);
            PackedGemm.Multiply(yt, zs, w, T.One, T.Zero);
            for (int q = 0; q < nb; q++)
            {
                T* wq = w.Ptr(q, 0);
                T tqq = tm[q, q];
                for (int c = 0; c < n; c++)
                {
                    wq[c] *= tqq;
                }

                for (int p = q + 1; p < nb; p++)
                {
                    SimdOps.Axpy(wq, w.Ptr(p, 0), tm[q, p], n);
                }
            }

            PackedGemm.Multiply(yt.Transposed, w, zs, -T.One, T.One);
        }
    }

    /// <summary>
    /// Householder reflector H = I − τ·v·vᵀ with H·x = β·e₁ for the <paramref name="len"/> ≥ 2 values at x: v (v₀ = 1)
    /// overwrites x, β goes to <paramref name="beta"/>, τ is returned (0, with β = x₀, when x₁.. are all zero).
    /// </summary>
    private static T MakeReflector<T>(T* x, int len, out T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T alpha = x[0];
        T xnorm = Norm2(x + 1, len - 1);
        T t = T.Zero;
        beta = alpha;
        if (!T.IsZero(xnorm))
        {
            beta = -T.CopySign(T.Hypot(alpha, xnorm), alpha);

            // LAPACK ?larfg: when β is below the safe minimum (subnormal columns), 1/(α − β) would overflow; scale x
            // up by 1/safmin (exactly, a power of two) until β is safe, then scale β back (v and τ do not change).
            T safeMinimum = SafeMinimum<T>();
            int rescaled = 0;
            if (T.Abs(beta) < safeMinimum)
            {
                T up = T.One / safeMinimum;
                do
                {
                    rescaled++;
                    for (int q = 1; q < len; q++)
                    {
                        x[q] *= up;
                    }

                    beta *= up;
                    alpha *= up;
                }
                while (T.Abs(beta) < safeMinimum && rescaled < 20);

                xnorm = Norm2(x + 1, len - 1);
                beta = -T.CopySign(T.Hypot(alpha, xnorm), alpha);
            }

            t = (beta - alpha) / beta;
            T scale = T.One / (alpha - beta);
            for (int q = 1; q < len; q++)
            {
                x[q] *= scale;
            }

            for (int k = 0; k < rescaled; k++)
            {
                beta *= safeMinimum;
            }
        }

        x[0] = T.One;
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Norm2<T>(T* x, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Scaled to avoid overflow/underflow of the squares.
        T scale = T.Zero;
        for (int i = 0; i < length; i++)
        {
            scale = T.Max(scale, T.Abs(x[i]));
        }

        if (T.IsZero(scale) || !T.IsFinite(scale))
        {
            return scale;
        }

        // Dividing (not multiplying by 1/scale) keeps a subnormal scale from overflowing the reciprocal.
        T sum = T.Zero;
        for (int i = 0; i < length; i++)
        {
            T v = x[i] / scale;
            sum += v * v;
        }

        return scale * T.Sqrt(sum);
    }

    /// <summary>LAPACK's safmin/ε: the smallest value whose reciprocal (times ε) does not overflow.</summary>
    private static T SafeMinimum<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(double) ? T.CreateTruncating(Math.ScaleB(1.0, -1022 + 53)) : T.CreateTruncating(MathF.ScaleB(1.0f, -126 + 24));

    private static T Hypot<T>(T x, T y)
        where T : unmanaged, IFloatingPointIeee754<T> => T.Hypot(x, y);
}
