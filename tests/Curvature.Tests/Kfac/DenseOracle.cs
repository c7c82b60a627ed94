namespace Curvature.Tests.Kfac;

/// <summary>Plain dense float64 linear algebra for test oracles (row-major double[,]).</summary>
internal static class DenseOracle
{
    public static double[,] Random(Random rng, int rows, int cols, double scale = 1)
    {
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                m[i, j] = scale * ((2 * rng.NextDouble()) - 1);
            }
        }

        return m;
    }

    public static double[] Flat(double[,] m)
    {
        var r = new double[m.Length];
        int k = 0;
        foreach (var v in m)
        {
            r[k++] = v;
        }

        return r;
    }

    public static double[,] FromFlat(ReadOnlySpan<double> data, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                m[i, j] = data[(i * cols) + j];
            }
        }

        return m;
    }

    public static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), k = a.GetLength(1), m = b.GetLength(1);
        var c = new double[n, m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    s += a[i, p] * b[p, j];
                }

                c[i, j] = s;
            }
        }

        return c;
    }

    public static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
            {
                t[j, i] = a[i, j];
            }
        }

        return t;
    }

    public static double[,] Kron(double[,] a, double[,] b)
    {
        int ar = a.GetLength(0), ac = a.GetLength(1), br = b.GetLength(0), bc = b.GetLength(1);
        var k = new double[ar * br, ac * bc];
        for (int i = 0; i < ar; i++)
        {
            for (int j = 0; j < ac; j++)
            {
                for (int p = 0; p < br; p++)
                {
                    for (int q = 0; q < bc; q++)
                    {
                        k[(i * br) + p, (j * bc) + q] = a[i, j] * b[p, q];
                    }
                }
            }
        }

        return k;
    }

    public static double[,] AddIdentity(double[,] a, double d)
    {
        var r = (double[,])a.Clone();
        for (int i = 0; i < a.GetLength(0); i++)
        {
            r[i, i] += d;
        }

        return r;
    }

    /// <summary>Gauss–Jordan inverse with partial pivoting.</summary>
    public static double[,] Inverse(double[,] a)
    {
        int n = a.GetLength(0);
        var m = (double[,])a.Clone();
        var inv = AddIdentity(new double[n, n], 1);
        for (int c = 0; c < n; c++)
        {
            int p = c;
            for (int r = c + 1; r < n; r++)
            {
                if (Math.Abs(m[r, c]) > Math.Abs(m[p, c]))
                {
                    p = r;
                }
            }

            for (int j = 0; j < n; j++)
            {
                (m[c, j], m[p, j]) = (m[p, j], m[c, j]);
                (inv[c, j], inv[p, j]) = (inv[p, j], inv[c, j]);
            }

            double d = m[c, c];
            for (int j = 0; j < n; j++)
            {
                m[c, j] /= d;
                inv[c, j] /= d;
            }

            for (int r = 0; r < n; r++)
            {
                if (r != c && m[r, c] != 0)
                {
                    double f = m[r, c];
                    for (int j = 0; j < n; j++)
                    {
                        m[r, j] -= f * m[c, j];
                        inv[r, j] -= f * inv[c, j];
                    }
                }
            }
        }

        return inv;
    }

    /// <summary>log det of a symmetric positive-definite matrix by an unpivoted Cholesky.</summary>
    public static double LogDetSpd(double[,] a)
    {
        int n = a.GetLength(0);
        var l = new double[n, n];
        double logdet = 0;
        for (int j = 0; j < n; j++)
        {
            double s = a[j, j];
            for (int k = 0; k < j; k++)
            {
                s -= l[j, k] * l[j, k];
            }

            l[j, j] = Math.Sqrt(s);
            logdet += 2 * Math.Log(l[j, j]);
            for (int i = j + 1; i < n; i++)
            {
                double t = a[i, j];
                for (int k = 0; k < j; k++)
                {
                    t -= l[i, k] * l[j, k];
                }

                l[i, j] = t / l[j, j];
            }
        }

        return logdet;
    }

    public static double MaxAbs(double[,] a)
    {
        double m = 0;
        foreach (var v in a)
        {
            m = Math.Max(m, Math.Abs(v));
        }

        return m;
    }

    /// <summary>max|a − b| / max|b|.</summary>
    public static double RelativeError(double[,] a, double[,] b)
    {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
            {
                diff = Math.Max(diff, Math.Abs(a[i, j] - b[i, j]));
                scale = Math.Max(scale, Math.Abs(b[i, j]));
            }
        }

        return diff / Math.Max(scale, 1e-300);
    }

    public static double RelativeError(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
            scale = Math.Max(scale, Math.Abs(b[i]));
        }

        return diff / Math.Max(scale, 1e-300);
    }
}
