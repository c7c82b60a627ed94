namespace Curvature.Internals;

/// <summary>Helpers on row-major symmetric storage shared by all backends.</summary>
internal static class SymmetricStorage
{
    /// <summary>Copies the given triangle into the other one, making the matrix fully symmetric.</summary>
    public static void Mirror<T>(MatrixRef<T> a, bool fromLower)
    {
        int n = a.Rows;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < i; j++)
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
}
