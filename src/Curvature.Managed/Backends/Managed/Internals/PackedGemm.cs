using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// General matrix product in the Goto/BLIS structure (K. Goto and R. van de Geijn, "Anatomy of high-performance
/// matrix multiplication", ACM TOMS 34(3), 2008; F. Van Zee and R. van de Geijn, "BLIS", ACM TOMS 41(3), 2015):
/// B is packed into KC × NC panels of NR-column slivers, A into MC × KC blocks of MR-row slivers (both zero-padded
/// so edge tiles run the same micro-kernel), and an MR × NR register block of vector accumulators (6 rows × 2
/// vectors: 12 accumulators, at the widest vector width the machine accelerates, see <see cref="VectorWidth"/>) is
/// updated with FMAs.
/// </summary>
/// <remarks>
/// Operands are <see cref="StridedMatrix{T}"/> views, so every transpose combination is handled by the packing
/// routines. <see cref="CFill"/> restricts the written part of C to a triangle (SYRK, triangular updates); an
/// optional lower-triangular mask on A (elements above its diagonal read as zero and are never touched) gives
/// triangular products (TRMM-like) with the zero blocks skipped.
/// </remarks>
[SkipLocalsInit]
internal static unsafe class PackedGemm
{
    /// <summary>Rows of the register block.</summary>
    public const int MR = 6;

    private const int KC = 256;

    /// <summary>Work (m·n·k) from which a product is split over threads.</summary>
    private const long ParallelThreshold = 48L * 1024 * 1024;

    private static int NR<T>()
        where T : unmanaged => 2 * VectorWidth.Elements<T>();

    private static int MC<T>() => typeof(T) == typeof(double) ? 96 : 144;

    private static int NC<T>() => typeof(T) == typeof(double) ? 2048 : 4096;

    /// <summary>
    /// <c>C ← α·A·B + β·C</c> (A is m × k, B is k × n, C is m × n), writing only the part of C given by
    /// <paramref name="fill"/>. When β = 0, C is not read. When <paramref name="aLowerTriangular"/> is set, the
    /// elements of A above its diagonal are treated as zero and never read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply<T>(StridedMatrix<T> a, StridedMatrix<T> b, StridedMatrix<T> c, T alpha, T beta, CFill fill = CFill.Full, bool aLowerTriangular = false, int threads = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = c.Rows, n = c.Cols, k = a.Cols;
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || T.IsZero(alpha))
        {
            Scale(c, beta, fill);
            return;
        }

        int nr = NR<T>();
        int mcMax = MC<T>();
        int ncMax = NC<T>();
        int kcMax = Math.Min(KC, k);
        int ncAlloc = RoundUp(Math.Min(n, ncMax), nr);
        T* bpack = KernelScratch.Get<T>(KernelScratch.PackB, (long)kcMax * ncAlloc);
        int icCount = (m + mcMax - 1) / mcMax;
        bool parallel = threads > 1 && icCount > 1 && (long)m * n * k >= ParallelThreshold;

        for (int jc = 0; jc < n; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                PackB(b, pc, kc, jc, nc, bpack);
                T betaEff = pc == 0 ? beta : T.One;
                if (parallel)
                {
                    var job = new BlockJob<T>(a, c, bpack, alpha, betaEff, fill, aLowerTriangular, jc, nc, pc, kc);
                    Parallel.For(0, icCount, new ParallelOptions { MaxDegreeOfParallelism = threads }, job.Run);
                }
                else
                {
                    for (int blk = 0; blk < icCount; blk++)
                    {
                        RowBlock(a, c, bpack, alpha, betaEff, fill, aLowerTriangular, jc, nc, pc, kc, blk);
                    }
                }
            }
        }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>One MC-row block of C against the packed B panel: pack the A block, then run the macro-kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowBlock<T>(StridedMatrix<T> a, StridedMatrix<T> c, T* bpack, T alpha, T beta, CFill fill, bool aLower, int jc, int nc, int pc, int kc, int blk)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mcMax = MC<T>();
        int ic = blk * mcMax;
        int mc = Math.Min(mcMax, c.Rows - ic);
        if ((fill == CFill.Lower && ic + mc - 1 < jc) || (fill == CFill.Upper && jc + nc - 1 < ic))
        {
            return; // no element of this block is in the written triangle
        }

        if (aLower && ic + mc - 1 < pc)
        {
            return; // A block is all zero (pc > 0 here, so β is already applied)
        }

        int nr = NR<T>();
        T* apack = KernelScratch.Get<T>(KernelScratch.PackA, (long)RoundUp(mcMax, MR) * KC);
        PackA(a, ic, mc, pc, kc, apack, aLower);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nrr = Math.Min(nr, nc - jr);
            int col0 = jc + jr;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mrr = Math.Min(MR, mc - ir);
                int row0 = ic + ir;
                CFill tileFill = CFill.Full;
                if (fill == CFill.Lower)
                {
                    if (col0 > row0 + mrr - 1)
                    {
                        continue;
                    }

                    if (col0 + nrr - 1 > row0)
                    {
                        tileFill = CFill.Lower;
                    }
                }
                else if (fill == CFill.Upper)
                {
                    if (col0 + nrr - 1 < row0)
                    {
                        continue;
                    }

                    if (col0 < row0 + mrr - 1)
                    {
                        tileFill = CFill.Upper;
                    }
                }

                int kEff = kc;
                if (aLower)
                {
                    kEff = Math.Clamp(row0 + mrr - pc, 0, kc);
                    if (kEff == 0)
                    {
                        continue;
                    }
                }

                T* ctile = c.Ptr(row0, col0);
                T* ap = apack + (ir * kc), bp = bpack + (jr * kc);
                switch (VectorWidth.Bits)
                {
                    case 512:
                        Kernel<Wide512<T>, Vector512<T>, T>(kEff, ap, bp, ctile, c.RowStride, c.ColStride, alpha, beta, mrr, nrr, tileFill, col0 - row0);
                        break;
                    case 256:
                        Kernel<Wide256<T>, Vector256<T>, T>(kEff, ap, bp, ctile, c.RowStride, c.ColStride, alpha, beta, mrr, nrr, tileFill, col0 - row0);
                        break;
                    case 128:
                        Kernel<Wide128<T>, Vector128<T>, T>(kEff, ap, bp, ctile, c.RowStride, c.ColStride, alpha, beta, mrr, nrr, tileFill, col0 - row0);
                        break;
                    default:
                        KernelScalar(kEff, ap, bp, ctile, c.RowStride, c.ColStride, alpha, beta, mrr, nrr, tileFill, col0 - row0);
                        break;
                }
            }
        }
    }

    /// <summary>Packs op(A)[i0 : i0+mc, p0 : p0+kc] into MR-row slivers (p-major inside a sliver), zero padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<T>(StridedMatrix<T> a, int i0, int mc, int p0, int kc, T* dst, bool lowerTriangular)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            T* d = dst + (ir * kc);
            bool full = mr == MR && (!lowerTriangular || p0 + kc - 1 <= i0 + ir);
            if (full && a.ColStride == 1)
            {
                nint rs = a.RowStride;
                T* r0 = a.Ptr(i0 + ir, p0);
                for (int p = 0; p < kc; p++)
                {
                    d[0] = r0[p];
                    d[1] = r0[rs + p];
                    d[2] = r0[(2 * rs) + p];
                    d[3] = r0[(3 * rs) + p];
                    d[4] = r0[(4 * rs) + p];
                    d[5] = r0[(5 * rs) + p];
                    d += MR;
                }
            }
            else if (full && a.RowStride == 1)
            {
                nint cs = a.ColStride;
                T* s = a.Ptr(i0 + ir, p0);
                for (int p = 0; p < kc; p++)
                {
                    d[0] = s[0];
                    d[1] = s[1];
                    d[2] = s[2];
                    d[3] = s[3];
                    d[4] = s[4];
                    d[5] = s[5];
                    s += cs;
                    d += MR;
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    int gp = p0 + p;
                    for (int r = 0; r < MR; r++)
                    {
                        int gi = i0 + ir + r;
                        d[r] = r < mr && (!lowerTriangular || gp <= gi) ? a[gi, gp] : T.Zero;
                    }

                    d += MR;
                }
            }
        }
    }

    /// <summary>Packs op(B)[p0 : p0+kc, j0 : j0+nc] into NR-column slivers (p-major inside a sliver), zero padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<T>(StridedMatrix<T> b, int p0, int kc, int j0, int nc, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = NR<T>();
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nrr = Math.Min(nr, nc - jr);
            T* d = dst + (jr * kc);
            if (nrr == nr && b.ColStride == 1)
            {
                nint rs = b.RowStride;
                T* s = b.Ptr(p0, j0 + jr);
                for (int p = 0; p < kc; p++)
                {
                    CopySliver(s, d, nr);
                    s += rs;
                    d += nr;
                }
            }
            else if (nrr == nr && b.RowStride == 1)
            {
                nint cs = b.ColStride;
                for (int j = 0; j < nr; j++)
                {
                    T* s = b.Ptr(p0, j0 + jr + j);
                    T* dj = d + j;
                    for (int p = 0; p < kc; p++)
                    {
                        dj[p * nr] = s[p];
                    }
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    for (int j = 0; j < nr; j++)
                    {
                        d[j] = j < nrr ? b[p0 + p, j0 + jr + j] : T.Zero;
                    }

                    d += nr;
                }
            }
        }
    }

    /// <summary>Copies one row of a B sliver (nr = two vectors of the active width) with vector loads and stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopySliver<T>(T* s, T* d, int nr)
        where T : unmanaged
    {
        switch (VectorWidth.Bits)
        {
            case 512:
                Vector512.Store(Vector512.Load(s), d);
                Vector512.Store(Vector512.Load(s + Vector512<T>.Count), d + Vector512<T>.Count);
                break;
            case 256:
                Vector256.Store(Vector256.Load(s), d);
                Vector256.Store(Vector256.Load(s + Vector256<T>.Count), d + Vector256<T>.Count);
                break;
            case 128:
                Vector128.Store(Vector128.Load(s), d);
                Vector128.Store(Vector128.Load(s + Vector128<T>.Count), d + Vector128<T>.Count);
                break;
            default:
                for (int j = 0; j < nr; j++)
                {
                    d[j] = s[j];
                }

                break;
        }
    }

    /// <summary>The 6 × 2W register-blocked micro-kernel (W = elements per vector of the width TOps): C tile ←
    /// α·(A sliver · B sliver) + β·C tile (only mr × nr of it, and only the <c>fill</c> triangle; <c>diagOffset</c> =
    /// col0 − row0 of the tile). Twelve vector accumulators: 12 of 16 registers with AVX2, 12 of 32 with AVX-512/NEON.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TOps, TVec, T>(int kc, T* a, T* b, T* c, nint rs, nint cs, T alpha, T beta, int mr, int nr, CFill fill, int diagOffset)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = TOps.Count;
        TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero;
        TVec c30 = TOps.Zero, c31 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero;
        if (Sse.IsSupported && cs == 1)
        {
            // Bring the C tile towards L1 while the FMAs run (its rows are far apart in memory).
            for (int r = 0; r < mr; r++)
            {
                Sse.Prefetch0(c + (r * rs));
                Sse.Prefetch0(c + (r * rs) + (2 * w) - 1);
            }
        }

        for (int p = 0; p < kc; p++)
        {
            var b0 = TOps.Load(b);
            var b1 = TOps.Load(b + w);
            var av = TOps.Broadcast(a[0]);
            c00 = TOps.MultiplyAdd(av, b0, c00);
            c01 = TOps.MultiplyAdd(av, b1, c01);
            av = TOps.Broadcast(a[1]);
            c10 = TOps.MultiplyAdd(av, b0, c10);
            c11 = TOps.MultiplyAdd(av, b1, c11);
            av = TOps.Broadcast(a[2]);
            c20 = TOps.MultiplyAdd(av, b0, c20);
            c21 = TOps.MultiplyAdd(av, b1, c21);
            av = TOps.Broadcast(a[3]);
            c30 = TOps.MultiplyAdd(av, b0, c30);
            c31 = TOps.MultiplyAdd(av, b1, c31);
            av = TOps.Broadcast(a[4]);
            c40 = TOps.MultiplyAdd(av, b0, c40);
            c41 = TOps.MultiplyAdd(av, b1, c41);
            av = TOps.Broadcast(a[5]);
            c50 = TOps.MultiplyAdd(av, b0, c50);
            c51 = TOps.MultiplyAdd(av, b1, c51);
            a += MR;
            b += 2 * w;
        }

        if (mr == MR && nr == 2 * w && cs == 1 && fill == CFill.Full)
        {
            var va = TOps.Broadcast(alpha);
            if (T.IsZero(beta))
            {
                TOps.Store(TOps.Multiply(va, c00), c);
                TOps.Store(TOps.Multiply(va, c01), c + w);
                TOps.Store(TOps.Multiply(va, c10), c + rs);
                TOps.Store(TOps.Multiply(va, c11), c + rs + w);
                TOps.Store(TOps.Multiply(va, c20), c + (2 * rs));
                TOps.Store(TOps.Multiply(va, c21), c + (2 * rs) + w);
                TOps.Store(TOps.Multiply(va, c30), c + (3 * rs));
                TOps.Store(TOps.Multiply(va, c31), c + (3 * rs) + w);
                TOps.Store(TOps.Multiply(va, c40), c + (4 * rs));
                TOps.Store(TOps.Multiply(va, c41), c + (4 * rs) + w);
                TOps.Store(TOps.Multiply(va, c50), c + (5 * rs));
                TOps.Store(TOps.Multiply(va, c51), c + (5 * rs) + w);
            }
            else
            {
                var vb = TOps.Broadcast(beta);
                Update<TOps, TVec, T>(c, va, vb, c00);
                Update<TOps, TVec, T>(c + w, va, vb, c01);
                Update<TOps, TVec, T>(c + rs, va, vb, c10);
                Update<TOps, TVec, T>(c + rs + w, va, vb, c11);
                Update<TOps, TVec, T>(c + (2 * rs), va, vb, c20);
                Update<TOps, TVec, T>(c + (2 * rs) + w, va, vb, c21);
                Update<TOps, TVec, T>(c + (3 * rs), va, vb, c30);
                Update<TOps, TVec, T>(c + (3 * rs) + w, va, vb, c31);
                Update<TOps, TVec, T>(c + (4 * rs), va, vb, c40);
                Update<TOps, TVec, T>(c + (4 * rs) + w, va, vb, c41);
                Update<TOps, TVec, T>(c + (5 * rs), va, vb, c50);
                Update<TOps, TVec, T>(c + (5 * rs) + w, va, vb, c51);
            }

            return;
        }

        int ldt = 2 * w;
        T* tile = stackalloc T[MR * 2 * 64 / sizeof(T)];
        TOps.Store(c00, tile);
        TOps.Store(c01, tile + w);
        TOps.Store(c10, tile + ldt);
        TOps.Store(c11, tile + ldt + w);
        TOps.Store(c20, tile + (2 * ldt));
        TOps.Store(c21, tile + (2 * ldt) + w);
        TOps.Store(c30, tile + (3 * ldt));
        TOps.Store(c31, tile + (3 * ldt) + w);
        TOps.Store(c40, tile + (4 * ldt));
        TOps.Store(c41, tile + (4 * ldt) + w);
        TOps.Store(c50, tile + (5 * ldt));
        TOps.Store(c51, tile + (5 * ldt) + w);
        StoreTile(tile, ldt, c, rs, cs, alpha, beta, mr, nr, fill, diagOffset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update<TOps, TVec, T>(T* c, TVec alpha, TVec beta, TVec acc)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged
    {
        TOps.Store(TOps.MultiplyAdd(alpha, acc, TOps.Multiply(beta, TOps.Load(c))), c);
    }

    /// <summary>Scalar micro-kernel used when no vector width is accelerated (same packing and semantics).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelScalar<T>(int kc, T* a, T* b, T* c, nint rs, nint cs, T alpha, T beta, int mr, int nr, CFill fill, int diagOffset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ldt = NR<T>();
        T* tile = stackalloc T[MR * 2 * 64 / sizeof(T)];
        for (int i = 0; i < MR * ldt; i++)
        {
            tile[i] = T.Zero;
        }

        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < MR; r++)
            {
                T ar = a[r];
                T* t = tile + (r * ldt);
                for (int j = 0; j < ldt; j++)
                {
                    t[j] += ar * b[j];
                }
            }

            a += MR;
            b += ldt;
        }

        StoreTile(tile, ldt, c, rs, cs, alpha, beta, mr, nr, fill, diagOffset);
    }

    /// <summary>Writes the used part of an accumulator tile into C with BLAS α/β semantics.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreTile<T>(T* tile, int ldt, T* c, nint rs, nint cs, T alpha, T beta, int mr, int nr, CFill fill, int diagOffset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool betaZero = T.IsZero(beta);
        for (int r = 0; r < mr; r++)
        {
            int jFrom = 0, jTo = nr;
            if (fill == CFill.Lower)
            {
                jTo = Math.Min(nr, r - diagOffset + 1); // global col ≤ global row
            }
            else if (fill == CFill.Upper)
            {
                jFrom = Math.Max(0, r - diagOffset);
            }

            T* t = tile + (r * ldt);
            T* cr = c + (r * rs);
            for (int j = jFrom; j < jTo; j++)
            {
                ref T cij = ref cr[j * cs];
                cij = betaZero ? alpha * t[j] : (alpha * t[j]) + (beta * cij);
            }
        }
    }

    /// <summary>C ← β·C on the given part (C is not read when β = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale<T>(StridedMatrix<T> c, T beta, CFill fill)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool zero = T.IsZero(beta);
        for (int i = 0; i < c.Rows; i++)
        {
            int jFrom = fill == CFill.Upper ? i : 0;
            int jTo = fill == CFill.Lower ? Math.Min(i + 1, c.Cols) : c.Cols;
            for (int j = jFrom; j < jTo; j++)
            {
                ref T cij = ref c[i, j];
                cij = zero ? T.Zero : beta * cij;
            }
        }
    }

    /// <summary>The state of one parallel (jc, pc) step; its <see cref="Run"/> handles one MC-row block.</summary>
    private sealed class BlockJob<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly StridedMatrix<T> _a;
        private readonly StridedMatrix<T> _c;
        private readonly T* _bpack;
        private readonly T _alpha;
        private readonly T _beta;
        private readonly CFill _fill;
        private readonly bool _aLower;
        private readonly int _jc;
        private readonly int _nc;
        private readonly int _pc;
        private readonly int _kc;

        public BlockJob(StridedMatrix<T> a, StridedMatrix<T> c, T* bpack, T alpha, T beta, CFill fill, bool aLower, int jc, int nc, int pc, int kc)
        {
            _a = a;
            _c = c;
            _bpack = bpack;
            _alpha = alpha;
            _beta = beta;
            _fill = fill;
            _aLower = aLower;
            _jc = jc;
            _nc = nc;
            _pc = pc;
            _kc = kc;
        }

        public void Run(int blk) => RowBlock(_a, _c, _bpack, _alpha, _beta, _fill, _aLower, _jc, _nc, _pc, _kc, blk);
    }
}
