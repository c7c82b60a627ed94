namespace Curvature.Internals;

/// <summary>Helpers on row-major symmetric storage shared by all backends.</summary>
internal static class SymmetricStorage
{
    /// <summary>Tile order of <see cref="Mirror"/>: a tile's rows and columns (2 × 32 rows of 32 elements) stay in L1.</summary>
    private const int MirrorTile = 32;

    /// <summary>Copies the given triangle into the other one, making the matrix fully symmetric.</summary>
    /// <remarks>Tiled transpose: the column-strided side of each 32 × 32 tile stays in cache, so the pass costs about
    /// one sweep over memory instead of one cache-line and TLB miss per element at large n.</remarks>
    public static void Mirror<T>(MatrixRef<T> a, bool fromLower)
    {
        int n = a.Rows;
        for (int ib = 0; ib < n; ib += MirrorTile)
        {
            int iEnd = Math.Min(ib + MirrorTile, n);
            for (int jb = 0; jb <= ib; jb += MirrorTile)
            {
                for (int i = ib; i < iEnd; i++)
                {
                    int jEnd = Math.Min(jb + MirrorTile, i);
                    for (int j = jb; j < jEnd; j++)
                    {
                        if (fromLower)
                        {
                            a.At(j, i) = a.At(i, j);
                        }
                        else
                        {
                            a.At(i, j) = a.At(j, i);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Makes the entry of largest magnitude of every eigenvector (a column of <paramref name="q"/>) positive;
    /// the lowest row index wins a tie. This is the sign rule every backend shares.
    /// </summary>
    public static void NormalizeEigenvectorSigns(MatrixRef<double> q)
    {
        int n = q.Rows;
        for (int j = 0; j < n; j++)
        {
            int best = 0;
            double bestAbs = -1;
            for (int i = 0; i < n; i++)
            {
                double v = Math.Abs(q.At(i, j));
                if (v > bestAbs)
                {
                    bestAbs = v;
                    best = i;
                }
            }

            if (q.At(best, j) < 0)
            {
                for (int i = 0; i < n; i++)
                {
                    q.At(i, j) = -q.At(i, j);
                }
            }
        }
    }

    /// <inheritdoc cref="NormalizeEigenvectorSigns(MatrixRef{double})"/>
    public static void NormalizeEigenvectorSigns(MatrixRef<float> q)
    {
        int n = q.Rows;
        for (int j = 0; j < n; j++)
        {
            int best = 0;
            float bestAbs = -1;
            for (int i = 0; i < n; i++)
            {
                float v = MathF.Abs(q.At(i, j));
                if (v > bestAbs)
                {
                    bestAbs = v;
                    best = i;
                }
            }

            if (q.At(best, j) < 0)
            {
                for (int i = 0; i < n; i++)
                {
                    q.At(i, j) = -q.At(i, j);
                }
            }
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
    /// ?syevd reports failure (info = 1) without touching A.</remarks>
    public static int FiniteLeadingOrder<T>(MatrixRef<T> a, bool lower)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        if (lower)
        {
            // Row i of the lower triangle is row i of L.
            for (int i = 0; i < n; i++)
            {
                var row = a.Row(i)[..(i + 1)];
                foreach (T v in row)
                {
                    if (!T.IsFinite(v))
                    {
                        return i;
                    }
                }
            }

            return n;
        }

        // Upper: element (p, i), p ≤ i, is L(i, p); the order is the smallest column holding a non-finite entry.
        int order = n;
        for (int p = 0; p < n && p < order; p++)
        {
            var row = a.Row(p);
            for (int i = p; i < order; i++)
            {
                if (!T.IsFinite(row[i]))
                {
                    order = i;
                    break;
                }
            }
        }

        return order;
    }
}
