using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Curvature.Internals;

/// <summary>
/// O(n²) helpers on row-major symmetric storage shared by all backends: the mirror after ?POTRI, the in-place
/// transpose after ?SYEVD, the eigenvector sign rule and the non-finite screen before ?POTRF/?SYEVD. They run next to
/// O(n³) routines on the same matrix, so each makes one cache-friendly pass: transposes stream bands of whole cache
/// lines through 4 × 4 register blocks transposed with vector shuffles, row scans use vector loads.
/// </summary>
/// <remarks>Every helper gives bit-identical results to its plain element-by-element definition (they only move,
/// negate or test elements).</remarks>
[SkipLocalsInit]
internal static unsafe class SymmetricStorage
{
    /// <summary>Order of the register blocks (4 × 4 transposes in vector registers).</summary>
    private const int Block = 4;

    /// <summary>Micro-tile width along the streamed rows: two register blocks.</summary>
    private const int StreamStep = 8;

    /// <summary>Copies the given triangle into the other one, making the matrix fully symmetric:
    /// <c>a[j, i] = a[i, j]</c> for j &lt; i (<paramref name="fromLower"/>) or <c>a[i, j] = a[j, i]</c>.</summary>
    /// <remarks>The destination is written a band of rows at a time (as many rows as one cache line holds elements),
    /// streamed along those rows in micro-tiles of 4 × 4 register blocks, so every source line read and every
    /// destination line written is used whole while it is in L1. This order also avoids the cache-set conflicts a
    /// square-tiled transpose suffers when the row stride is a power of two (n = 512, 1024: rows 4 KiB apart).</remarks>
    public static void Mirror<T>(MatrixRef<T> a, bool fromLower)
        where T : unmanaged =>
        TransposeTriangle(ref a.Origin, a.Stride, ref a.Origin, a.Stride, a.Rows, fromLower, diagonal: false);

    /// <summary>Writes the transpose of one triangle of <paramref name="source"/> into the other triangle of
    /// <paramref name="destination"/> (same order n, separate storage), diagonal included:
    /// <c>destination[j, i] = source[i, j]</c> for j ≤ i (<paramref name="fromLower"/>) or for j ≥ i. Nothing else
    /// of <paramref name="destination"/> is written.</summary>
    public static void CopyTransposedTriangle<T>(MatrixRef<T> source, MatrixRef<T> destination, bool fromLower)
        where T : unmanaged =>
        TransposeTriangle(ref source.Origin, source.Stride, ref destination.Origin, destination.Stride, source.Rows, fromLower, diagonal: true);

    /// <summary>dst[r, c] = src[c, r] for c &gt; r (<paramref name="fromLower"/>: the destination's upper triangle) or for
    /// c &lt; r (its lower triangle); the diagonal too when <paramref name="diagonal"/> is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeTriangle<T>(ref T src, nint ss, ref T dst, nint ds, int n, bool fromLower, bool diagonal)
    {
        int band = BandRows<T>();
        int d = diagonal ? 0 : 1;
        for (int rb = 0; rb < n; rb += band)
        {
            int rows = Math.Min(band, n - rb);
            if (fromLower)
            {
                // Destination rows rb.. of the upper triangle, columns right of the band's diagonal tile.
                int c = rb + band;
                if (rows == band)
                {
                    for (; c + StreamStep <= n; c += StreamStep)
                    {
                        // dst (rb + x, c + y) = src (c + y, rb + x): source rows c.., columns rb.. (whole lines).
                        TransposeTile(ref Unsafe.Add(ref src, (c * ss) + rb), ss, StreamStep, band, ref Unsafe.Add(ref dst, (rb * ds) + c), ds);
                    }
                }

                // The band's diagonal tile, then the columns past the last whole micro-tile.
                for (int r = rb; r < rb + rows; r++)
                {
                    for (int cc = r + d; cc < Math.Min(rb + band, n); cc++)
                    {
                        Unsafe.Add(ref dst, (r * ds) + cc) = Unsafe.Add(ref src, (cc * ss) + r);
                    }

                    for (int cc = Math.Max(c, r + d); cc < n; cc++)
                    {
                        Unsafe.Add(ref dst, (r * ds) + cc) = Unsafe.Add(ref src, (cc * ss) + r);
                    }
                }
            }
            else
            {
                // Destination rows rb.. of the lower triangle, columns left of the band's diagonal tile.
                int c = 0;
                if (rows == band)
                {
                    for (; c + StreamStep <= rb; c += StreamStep)
                    {
                        // dst (rb + x, c + y) = src (c + y, rb + x).
                        TransposeTile(ref Unsafe.Add(ref src, (c * ss) + rb), ss, StreamStep, band, ref Unsafe.Add(ref dst, (rb * ds) + c), ds);
                    }
                }

                for (int r = rb; r < rb + rows; r++)
                {
                    for (int cc = c; cc < r + 1 - d; cc++)
                    {
                        Unsafe.Add(ref dst, (r * ds) + cc) = Unsafe.Add(ref src, (cc * ss) + r);
                    }
                }
            }
        }
    }

    /// <summary>Transposes the square matrix in place (<c>a[i, j] ↔ a[j, i]</c>).</summary>
    /// <remarks>The upper triangle is swept a band of rows at a time (as many rows as one cache line holds elements),
    /// streamed along those rows; each micro-tile is swapped with its mirror image below the diagonal as 4 × 4
    /// register blocks, so both sides use whole cache lines (see <see cref="Mirror{T}"/>).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransposeInPlace<T>(MatrixRef<T> a)
        where T : unmanaged
    {
        int n = a.Rows;
        nint s = a.Stride;
        ref T origin = ref a.Origin;
        int band = BandRows<T>();
        for (int rb = 0; rb < n; rb += band)
        {
            int rows = Math.Min(band, n - rb);
            int c = rb + band;
            if (rows == band)
            {
                for (; c + StreamStep <= n; c += StreamStep)
                {
                    // X = rows rb.., columns c.. (band × 8); Y = rows c.., columns rb.. (8 × band).
                    SwapTile(ref Unsafe.Add(ref origin, (rb * s) + c), band, StreamStep, ref Unsafe.Add(ref origin, (c * s) + rb), s);
                }
            }

            // The band's diagonal tile and the columns past the last whole micro-tile, element by element.
            for (int r = rb; r < rb + rows; r++)
            {
                for (int cc = r + 1; cc < Math.Min(rb + band, n); cc++)
                {
                    Swap(ref Unsafe.Add(ref origin, (r * s) + cc), ref Unsafe.Add(ref origin, (cc * s) + r));
                }

                for (int cc = Math.Max(c, r + 1); cc < n; cc++)
                {
                    Swap(ref Unsafe.Add(ref origin, (r * s) + cc), ref Unsafe.Add(ref origin, (cc * s) + r));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Swap<T>(ref T x, ref T y) => (x, y) = (y, x);

    /// <summary>Rows per band of the streamed transposes: one cache line of elements (8 doubles, 16 floats).</summary>
    private static int BandRows<T>() => Math.Max(StreamStep, 64 / Unsafe.SizeOf<T>());

    /// <summary>dst[x, y] = src[y, x] for a <paramref name="srcRows"/> × <paramref name="srcCols"/> source tile
    /// (both multiples of 4), as 4 × 4 register blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeTile<T>(ref T src, nint ss, int srcRows, int srcCols, ref T dst, nint ds)
    {
        if (typeof(T) == typeof(float) && Avx.IsSupported && srcRows % 8 == 0 && srcCols % 8 == 0)
        {
            // Floats: 8 × 8 blocks in AVX registers move twice the bytes per shuffle of the 4 × 4 SSE blocks.
            for (int y = 0; y < srcRows; y += 8)
            {
                for (int x = 0; x < srcCols; x += 8)
                {
                    TransposeBlock8(
                        ref Unsafe.As<T, float>(ref Unsafe.Add(ref src, (y * ss) + x)), ss,
                        ref Unsafe.As<T, float>(ref Unsafe.Add(ref dst, (x * ds) + y)), ds);
                }
            }

            return;
        }

        for (int y = 0; y < srcRows; y += Block)
        {
            for (int x = 0; x < srcCols; x += Block)
            {
                TransposeBlock(ref Unsafe.Add(ref src, (y * ss) + x), ss, ref Unsafe.Add(ref dst, (x * ds) + y), ds);
            }
        }
    }

    /// <summary>Swaps the <paramref name="rows"/> × <paramref name="cols"/> tile X with the tile Y, each transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SwapTile<T>(ref T x, int rows, int cols, ref T y, nint s)
    {
        for (int r = 0; r < rows; r += Block)
        {
            for (int c = 0; c < cols; c += Block)
            {
                SwapTransposedBlocks(ref Unsafe.Add(ref x, (r * s) + c), ref Unsafe.Add(ref y, (c * s) + r), s);
            }
        }
    }

    /// <summary>
    /// Makes the entry of largest magnitude of every eigenvector (a column of <paramref name="q"/>) positive;
    /// the lowest row index wins a tie. This is the sign rule every backend shares.
    /// </summary>
    /// <remarks>Two passes over the rows (never down a column): the first keeps, per column, the largest magnitude
    /// so far and the signed entry it belongs to (a later row wins only when strictly larger, so the lowest index wins
    /// a tie; NaN never wins); the second flips the sign bit of the columns whose winner is negative.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NormalizeEigenvectorSigns<T>(MatrixRef<T> q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = q.Rows;
        if (n == 0)
        {
            return;
        }

        // Per-column state: best magnitude and the signed winner, then the sign mask; n ≤ a few thousand.
        T[]? rented = null;
        Span<T> state = n <= 2048 / Unsafe.SizeOf<T>() * 8
            ? stackalloc T[2 * n]
            : (rented = System.Buffers.ArrayPool<T>.Shared.Rent(2 * n)).AsSpan(0, 2 * n);
        Span<T> bestAbs = state[..n];
        Span<T> winner = state[n..];
        bestAbs.Fill(-T.One);
        q.Row(0).CopyTo(winner);
        for (int i = 0; i < n; i++)
        {
            KeepLargest(q.Row(i), bestAbs, winner);
        }

        // winner[j] < 0 → flip column j: the mask holds −0.0 (the sign bit) there and +0.0 elsewhere.
        bool any = false;
        for (int j = 0; j < n; j++)
        {
            bool flip = winner[j] < T.Zero;
            bestAbs[j] = flip ? T.NegativeZero : T.Zero;
            any |= flip;
        }

        if (any)
        {
            for (int i = 0; i < n; i++)
            {
                XorSign(q.Row(i), bestAbs);
            }
        }

        if (rented is not null)
        {
            System.Buffers.ArrayPool<T>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The order of the largest leading block whose stored triangle is all finite (n when everything is finite).
    /// </summary>
    /// <remarks>LAPACK does not agree with itself on non-finite input: OpenBLAS's ?potrf reports success on a matrix
    /// holding NaN, and ?syevd may return info = 0 with NaN eigenvalues. So shared code screens the triangle a backend
    /// is about to read, before dispatch, for every backend (O(n²) against the routine's O(n³)): ?potrf factors only the finite leading block and reports
    /// <c>info = order + 1</c> when that block is positive definite — the info a column-by-column
    /// algorithm produces, since a non-finite entry in row i of the factor makes pivot i non-positive or NaN — and
    /// ?syevd reports failure (info = 1) without touching A. Rows are scanned with vector loads.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FiniteLeadingOrder<T>(MatrixRef<T> a, bool lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        if (lower)
        {
            // Row i of the lower triangle is row i of L.
            for (int i = 0; i < n; i++)
            {
                if (IndexOfNonFinite<T>(a.Row(i)[..(i + 1)]) >= 0)
                {
                    return i;
                }
            }

            return n;
        }

        // Upper: element (p, i), p ≤ i, is L(i, p); the order is the smallest column holding a non-finite entry.
        int order = n;
        for (int p = 0; p < n && p < order; p++)
        {
            int k = IndexOfNonFinite<T>(a.Row(p)[p..order]);
            if (k >= 0)
            {
                order = p + k;
            }
        }

        return order;
    }

    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or −1.</summary>
    /// <remarks>x − x is +0 for finite x and NaN otherwise; four vectors are tested per comparison.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int IndexOfNonFinite<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T p = ref MemoryMarshal.GetReference(values);
        int length = values.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && length >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            for (; i <= length - (4 * w); i += 4 * w)
            {
                var x0 = Vector512.LoadUnsafe(ref p, (nuint)i);
                var x1 = Vector512.LoadUnsafe(ref p, (nuint)(i + w));
                var x2 = Vector512.LoadUnsafe(ref p, (nuint)(i + (2 * w)));
                var x3 = Vector512.LoadUnsafe(ref p, (nuint)(i + (3 * w)));
                var z = (x0 - x0) + (x1 - x1) + ((x2 - x2) + (x3 - x3));
                if (!Vector512.EqualsAll(z, Vector512<T>.Zero))
                {
                    break;
                }
            }

            for (; i <= length - w; i += w)
            {
                var x = Vector512.LoadUnsafe(ref p, (nuint)i);
                if (!Vector512.EqualsAll(x - x, Vector512<T>.Zero))
                {
                    break;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated && length >= Vector256<T>.Count)
        {
            int w = Vector256<T>.Count;
            for (; i <= length - (4 * w); i += 4 * w)
            {
                var x0 = Vector256.LoadUnsafe(ref p, (nuint)i);
                var x1 = Vector256.LoadUnsafe(ref p, (nuint)(i + w));
                var x2 = Vector256.LoadUnsafe(ref p, (nuint)(i + (2 * w)));
                var x3 = Vector256.LoadUnsafe(ref p, (nuint)(i + (3 * w)));
                var z = (x0 - x0) + (x1 - x1) + ((x2 - x2) + (x3 - x3));
                if (!Vector256.EqualsAll(z, Vector256<T>.Zero))
                {
                    break;
                }
            }

            for (; i <= length - w; i += w)
            {
                var x = Vector256.LoadUnsafe(ref p, (nuint)i);
                if (!Vector256.EqualsAll(x - x, Vector256<T>.Zero))
                {
                    break;
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated && length >= Vector128<T>.Count)
        {
            int w = Vector128<T>.Count;
            for (; i <= length - (4 * w); i += 4 * w)
            {
                var x0 = Vector128.LoadUnsafe(ref p, (nuint)i);
                var x1 = Vector128.LoadUnsafe(ref p, (nuint)(i + w));
                var x2 = Vector128.LoadUnsafe(ref p, (nuint)(i + (2 * w)));
                var x3 = Vector128.LoadUnsafe(ref p, (nuint)(i + (3 * w)));
                var z = (x0 - x0) + (x1 - x1) + ((x2 - x2) + (x3 - x3));
                if (!Vector128.EqualsAll(z, Vector128<T>.Zero))
                {
                    break;
                }
            }

            for (; i <= length - w; i += w)
            {
                var x = Vector128.LoadUnsafe(ref p, (nuint)i);
                if (!Vector128.EqualsAll(x - x, Vector128<T>.Zero))
                {
                    break;
                }
            }
        }

        // The remainder, or the vectors that held a non-finite value: locate it.
        for (; i < length; i++)
        {
            if (!T.IsFinite(Unsafe.Add(ref p, i)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>bestAbs[j], winner[j] ← |row[j]|, row[j] where |row[j]| &gt; bestAbs[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KeepLargest<T>(Span<T> row, Span<T> bestAbs, Span<T> winner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T r = ref MemoryMarshal.GetReference(row);
        ref T b = ref MemoryMarshal.GetReference(bestAbs);
        ref T v = ref MemoryMarshal.GetReference(winner);
        int n = row.Length, j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            int w = Vector512<T>.Count;
            for (; j <= n - w; j += w)
            {
                var x = Vector512.LoadUnsafe(ref r, (nuint)j);
                var ax = Vector512.Abs(x);
                var best = Vector512.LoadUnsafe(ref b, (nuint)j);
                var larger = Vector512.GreaterThan(ax, best);
                Vector512.ConditionalSelect(larger, ax, best).StoreUnsafe(ref b, (nuint)j);
                Vector512.ConditionalSelect(larger, x, Vector512.LoadUnsafe(ref v, (nuint)j)).StoreUnsafe(ref v, (nuint)j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            int w = Vector256<T>.Count;
            for (; j <= n - w; j += w)
            {
                var x = Vector256.LoadUnsafe(ref r, (nuint)j);
                var ax = Vector256.Abs(x);
                var best = Vector256.LoadUnsafe(ref b, (nuint)j);
                var larger = Vector256.GreaterThan(ax, best);
                Vector256.ConditionalSelect(larger, ax, best).StoreUnsafe(ref b, (nuint)j);
                Vector256.ConditionalSelect(larger, x, Vector256.LoadUnsafe(ref v, (nuint)j)).StoreUnsafe(ref v, (nuint)j);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            int w = Vector128<T>.Count;
            for (; j <= n - w; j += w)
            {
                var x = Vector128.LoadUnsafe(ref r, (nuint)j);
                var ax = Vector128.Abs(x);
                var best = Vector128.LoadUnsafe(ref b, (nuint)j);
                var larger = Vector128.GreaterThan(ax, best);
                Vector128.ConditionalSelect(larger, ax, best).StoreUnsafe(ref b, (nuint)j);
                Vector128.ConditionalSelect(larger, x, Vector128.LoadUnsafe(ref v, (nuint)j)).StoreUnsafe(ref v, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            T x = Unsafe.Add(ref r, j);
            T ax = T.Abs(x);
            if (ax > Unsafe.Add(ref b, j))
            {
                Unsafe.Add(ref b, j) = ax;
                Unsafe.Add(ref v, j) = x;
            }
        }
    }

    /// <summary>row[j] ← row[j] with its sign bit XOR-ed with mask[j]'s (mask holds ±0): negation where mask is −0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void XorSign<T>(Span<T> row, Span<T> mask)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T r = ref MemoryMarshal.GetReference(row);
        ref T m = ref MemoryMarshal.GetReference(mask);
        int n = row.Length, j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            int w = Vector512<T>.Count;
            for (; j <= n - w; j += w)
            {
                Vector512.Xor(Vector512.LoadUnsafe(ref r, (nuint)j), Vector512.LoadUnsafe(ref m, (nuint)j)).StoreUnsafe(ref r, (nuint)j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            int w = Vector256<T>.Count;
            for (; j <= n - w; j += w)
            {
                Vector256.Xor(Vector256.LoadUnsafe(ref r, (nuint)j), Vector256.LoadUnsafe(ref m, (nuint)j)).StoreUnsafe(ref r, (nuint)j);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            int w = Vector128<T>.Count;
            for (; j <= n - w; j += w)
            {
                Vector128.Xor(Vector128.LoadUnsafe(ref r, (nuint)j), Vector128.LoadUnsafe(ref m, (nuint)j)).StoreUnsafe(ref r, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            if (T.IsNegative(Unsafe.Add(ref m, j)))
            {
                Unsafe.Add(ref r, j) = -Unsafe.Add(ref r, j);
            }
        }
    }

    /// <summary>dst[c, r] = src[r, c] for a 4 × 4 block (source rows <paramref name="ss"/> apart, destination rows <paramref name="ds"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeBlock<T>(ref T src, nint ss, ref T dst, nint ds)
    {
        if (typeof(T) == typeof(double) && Avx.IsSupported)
        {
            ref double sd = ref Unsafe.As<T, double>(ref src);
            ref double dd = ref Unsafe.As<T, double>(ref dst);
            Transpose4(
                Vector256.LoadUnsafe(ref sd), Vector256.LoadUnsafe(ref sd, (nuint)ss), Vector256.LoadUnsafe(ref sd, (nuint)(2 * ss)), Vector256.LoadUnsafe(ref sd, (nuint)(3 * ss)),
                out var c0, out var c1, out var c2, out var c3);
            c0.StoreUnsafe(ref dd);
            c1.StoreUnsafe(ref dd, (nuint)ds);
            c2.StoreUnsafe(ref dd, (nuint)(2 * ds));
            c3.StoreUnsafe(ref dd, (nuint)(3 * ds));
            return;
        }

        if (typeof(T) == typeof(float) && Sse.IsSupported)
        {
            ref float sf = ref Unsafe.As<T, float>(ref src);
            ref float df = ref Unsafe.As<T, float>(ref dst);
            Transpose4(
                Vector128.LoadUnsafe(ref sf), Vector128.LoadUnsafe(ref sf, (nuint)ss), Vector128.LoadUnsafe(ref sf, (nuint)(2 * ss)), Vector128.LoadUnsafe(ref sf, (nuint)(3 * ss)),
                out var c0, out var c1, out var c2, out var c3);
            c0.StoreUnsafe(ref df);
            c1.StoreUnsafe(ref df, (nuint)ds);
            c2.StoreUnsafe(ref df, (nuint)(2 * ds));
            c3.StoreUnsafe(ref df, (nuint)(3 * ds));
            return;
        }

        // Portable: 16 loads into locals, then 16 stores.
        T a00 = src, a01 = Unsafe.Add(ref src, 1), a02 = Unsafe.Add(ref src, 2), a03 = Unsafe.Add(ref src, 3);
        ref T r1 = ref Unsafe.Add(ref src, ss);
        T a10 = r1, a11 = Unsafe.Add(ref r1, 1), a12 = Unsafe.Add(ref r1, 2), a13 = Unsafe.Add(ref r1, 3);
        ref T r2 = ref Unsafe.Add(ref src, 2 * ss);
        T a20 = r2, a21 = Unsafe.Add(ref r2, 1), a22 = Unsafe.Add(ref r2, 2), a23 = Unsafe.Add(ref r2, 3);
        ref T r3 = ref Unsafe.Add(ref src, 3 * ss);
        T a30 = r3, a31 = Unsafe.Add(ref r3, 1), a32 = Unsafe.Add(ref r3, 2), a33 = Unsafe.Add(ref r3, 3);
        Store4(ref dst, a00, a10, a20, a30);
        Store4(ref Unsafe.Add(ref dst, ds), a01, a11, a21, a31);
        Store4(ref Unsafe.Add(ref dst, 2 * ds), a02, a12, a22, a32);
        Store4(ref Unsafe.Add(ref dst, 3 * ds), a03, a13, a23, a33);
    }

    /// <summary>dst[c, r] = src[r, c] for an 8 × 8 block of floats (AVX: unpack pairs, shuffle quadruples, swap
    /// 128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeBlock8(ref float src, nint ss, ref float dst, nint ds)
    {
        var r0 = Vector256.LoadUnsafe(ref src);
        var r1 = Vector256.LoadUnsafe(ref src, (nuint)ss);
        var r2 = Vector256.LoadUnsafe(ref src, (nuint)(2 * ss));
        var r3 = Vector256.LoadUnsafe(ref src, (nuint)(3 * ss));
        var r4 = Vector256.LoadUnsafe(ref src, (nuint)(4 * ss));
        var r5 = Vector256.LoadUnsafe(ref src, (nuint)(5 * ss));
        var r6 = Vector256.LoadUnsafe(ref src, (nuint)(6 * ss));
        var r7 = Vector256.LoadUnsafe(ref src, (nuint)(7 * ss));
        var t0 = Avx.UnpackLow(r0, r1);   // per lane: a0 b0 a1 b1
        var t1 = Avx.UnpackHigh(r0, r1);  // per lane: a2 b2 a3 b3
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); // per lane: a0 b0 c0 d0
        var u1 = Avx.Shuffle(t0, t2, 0xEE); // per lane: a1 b1 c1 d1
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, (nuint)ds);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, (nuint)(2 * ds));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, (nuint)(3 * ds));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, (nuint)(4 * ds));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, (nuint)(5 * ds));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, (nuint)(6 * ds));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, (nuint)(7 * ds));
    }

    /// <summary>Swaps the 4 × 4 blocks at x and y, each transposed (x ← yᵀ, y ← xᵀ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SwapTransposedBlocks<T>(ref T x, ref T y, nint s)
    {
        if (typeof(T) == typeof(double) && Avx.IsSupported)
        {
            ref double xd = ref Unsafe.As<T, double>(ref x);
            ref double yd = ref Unsafe.As<T, double>(ref y);
            Transpose4(
                Vector256.LoadUnsafe(ref xd), Vector256.LoadUnsafe(ref xd, (nuint)s), Vector256.LoadUnsafe(ref xd, (nuint)(2 * s)), Vector256.LoadUnsafe(ref xd, (nuint)(3 * s)),
                out var x0, out var x1, out var x2, out var x3);
            Transpose4(
                Vector256.LoadUnsafe(ref yd), Vector256.LoadUnsafe(ref yd, (nuint)s), Vector256.LoadUnsafe(ref yd, (nuint)(2 * s)), Vector256.LoadUnsafe(ref yd, (nuint)(3 * s)),
                out var y0, out var y1, out var y2, out var y3);
            y0.StoreUnsafe(ref xd);
            y1.StoreUnsafe(ref xd, (nuint)s);
            y2.StoreUnsafe(ref xd, (nuint)(2 * s));
            y3.StoreUnsafe(ref xd, (nuint)(3 * s));
            x0.StoreUnsafe(ref yd);
            x1.StoreUnsafe(ref yd, (nuint)s);
            x2.StoreUnsafe(ref yd, (nuint)(2 * s));
            x3.StoreUnsafe(ref yd, (nuint)(3 * s));
            return;
        }

        if (typeof(T) == typeof(float) && Sse.IsSupported)
        {
            ref float xf = ref Unsafe.As<T, float>(ref x);
            ref float yf = ref Unsafe.As<T, float>(ref y);
            Transpose4(
                Vector128.LoadUnsafe(ref xf), Vector128.LoadUnsafe(ref xf, (nuint)s), Vector128.LoadUnsafe(ref xf, (nuint)(2 * s)), Vector128.LoadUnsafe(ref xf, (nuint)(3 * s)),
                out var x0, out var x1, out var x2, out var x3);
            Transpose4(
                Vector128.LoadUnsafe(ref yf), Vector128.LoadUnsafe(ref yf, (nuint)s), Vector128.LoadUnsafe(ref yf, (nuint)(2 * s)), Vector128.LoadUnsafe(ref yf, (nuint)(3 * s)),
                out var y0, out var y1, out var y2, out var y3);
            y0.StoreUnsafe(ref xf);
            y1.StoreUnsafe(ref xf, (nuint)s);
            y2.StoreUnsafe(ref xf, (nuint)(2 * s));
            y3.StoreUnsafe(ref xf, (nuint)(3 * s));
            x0.StoreUnsafe(ref yf);
            x1.StoreUnsafe(ref yf, (nuint)s);
            x2.StoreUnsafe(ref yf, (nuint)(2 * s));
            x3.StoreUnsafe(ref yf, (nuint)(3 * s));
            return;
        }

        for (int r = 0; r < Block; r++)
        {
            for (int c = 0; c < Block; c++)
            {
                ref T p = ref Unsafe.Add(ref x, (r * s) + c);
                ref T q = ref Unsafe.Add(ref y, (c * s) + r);
                (p, q) = (q, p);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4<T>(ref T dst, T v0, T v1, T v2, T v3)
    {
        dst = v0;
        Unsafe.Add(ref dst, 1) = v1;
        Unsafe.Add(ref dst, 2) = v2;
        Unsafe.Add(ref dst, 3) = v3;
    }

    /// <summary>4 × 4 transpose of doubles in AVX registers (unpack pairs, then swap 128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4(Vector256<double> r0, Vector256<double> r1, Vector256<double> r2, Vector256<double> r3,
        out Vector256<double> c0, out Vector256<double> c1, out Vector256<double> c2, out Vector256<double> c3)
    {
        var t0 = Avx.UnpackLow(r0, r1);   // r0[0] r1[0] r0[2] r1[2]
        var t1 = Avx.UnpackHigh(r0, r1);  // r0[1] r1[1] r0[3] r1[3]
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        c0 = Avx.Permute2x128(t0, t2, 0x20);
        c1 = Avx.Permute2x128(t1, t3, 0x20);
        c2 = Avx.Permute2x128(t0, t2, 0x31);
        c3 = Avx.Permute2x128(t1, t3, 0x31);
    }

    /// <summary>4 × 4 transpose of floats in SSE registers (the classic unpack / movelh / movehl sequence).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4(Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3,
        out Vector128<float> c0, out Vector128<float> c1, out Vector128<float> c2, out Vector128<float> c3)
    {
        var t0 = Sse.UnpackLow(r0, r1);   // a0 b0 a1 b1
        var t1 = Sse.UnpackLow(r2, r3);   // c0 d0 c1 d1
        var t2 = Sse.UnpackHigh(r0, r1);  // a2 b2 a3 b3
        var t3 = Sse.UnpackHigh(r2, r3);  // c2 d2 c3 d3
        c0 = Sse.MoveLowToHigh(t0, t1);   // a0 b0 c0 d0
        c1 = Sse.MoveHighToLow(t1, t0);   // a1 b1 c1 d1
        c2 = Sse.MoveLowToHigh(t2, t3);
        c3 = Sse.MoveHighToLow(t3, t2);
    }
}
