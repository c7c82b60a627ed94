namespace Curvature.Tests.BranchFactored;

/// <summary>Plain float64 dense linear algebra for oracles (written for the tests, independent of the library).</summary>
internal static class DenseOracle
{
    public static double[,] Random(Random rng, int rows, int cols, double scale = 1.0)
    {
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                m[i, j] = scale * (2 * rng.NextDouble() - 1);
            }
        }

        return m;
    }

    public static double[] RandomVector(Random rng, int n, double scale = 1.0)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = scale * (2 * rng.NextDouble() - 1);
        }

        return v;
    }

    /// <summary>MᵀM + shift·I, symmetric positive definite.</summary>
    public static double[,] RandomSpd(Random rng, int n, double shift)
    {
        var m = Random(rng, n, n);
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++)
                {
                    s += m[k, i] * m[k, j];
                }

                a[i, j] = s + (i == j ? shift : 0);
            }
        }

        return a;
    }

    public static double[] MatVec(double[,] a, double[] x)
    {
        int r = a.GetLength(0), c = a.GetLength(1);
        var y = new double[r];
        for (int i = 0; i < r; i++)
        {
            double s = 0;
            for (int j = 0; j < c; j++)
            {
                s += a[i, j] * x[j];
            }

            y[i] = s;
        }

        return y;
    }

    public static double[] TransposeMatVec(double[,] a, double[] x)
    {
        int r = a.GetLength(0), c = a.GetLength(1);
        var y = new double[c];
        for (int j = 0; j < c; j++)
        {
            double s = 0;
            for (int i = 0; i < r; i++)
            {
                s += a[i, j] * x[i];
            }

            y[j] = s;
        }

        return y;
    }

    /// <summary>Solves A x = b by Gaussian elimination with partial pivoting.</summary>
    public static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int k = 0; k < n; k++)
        {
            int p = k;
            for (int i = k + 1; i < n; i++)
            {
                if (Math.Abs(m[i, k]) > Math.Abs(m[p, k]))
                {
                    p = i;
                }
            }

            if (p != k)
            {
                for (int j = 0; j < n; j++)
                {
                    (m[k, j], m[p, j]) = (m[p, j], m[k, j]);
                }

                (x[k], x[p]) = (x[p], x[k]);
            }

            for (int i = k + 1; i < n; i++)
            {
                double f = m[i, k] / m[k, k];
                for (int j = k; j < n; j++)
                {
                    m[i, j] -= f * m[k, j];
                }

                x[i] -= f * x[k];
            }
        }

        for (int i = n - 1; i >= 0; i--)
        {
            double s = x[i];
            for (int j = i + 1; j < n; j++)
            {
                s -= m[i, j] * x[j];
            }

            x[i] = s / m[i, i];
        }

        return x;
    }

    public static double[,] Inverse(double[,] a)
    {
        int n = a.GetLength(0);
        var inv = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            var e = new double[n];
            e[j] = 1;
            var col = Solve(a, e);
            for (int i = 0; i < n; i++)
            {
                inv[i, j] = col[i];
            }
        }

        return inv;
    }

    /// <summary>The seed's cov_empirical: centred XᵀX / max(1, N − 1).</summary>
    public static double[,] Covariance(double[,] x)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var mean = new double[d];
        for (int j = 0; j < d; j++)
        {
            for (int i = 0; i < n; i++)
            {
                mean[j] += x[i, j];
            }

            mean[j] /= n;
        }

        var c = new double[d, d];
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b < d; b++)
            {
                double s = 0;
                for (int i = 0; i < n; i++)
                {
                    s += (x[i, a] - mean[a]) * (x[i, b] - mean[b]);
                }

                c[a, b] = s / Math.Max(1, n - 1);
            }
        }

        return c;
    }

    public static double Norm(ReadOnlySpan<double> v)
    {
        double s = 0;
        foreach (double x in v)
        {
            s += x * x;
        }

        return Math.Sqrt(s);
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (err > tolerance * Math.Max(1.0, Math.Abs(expected[i])))
            {
                Xunit.Assert.Fail($"Index {i}: expected {expected[i]:R}, actual {actual[i]:R} (error {err:E3}, tolerance {tolerance:E1}).");
            }
        }
    }
}
