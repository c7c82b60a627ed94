namespace Curvature.Tests.TestKit;

/// <summary>Straightforward float64 dense linear algebra used as the oracle of kernel tests (independent of src/).</summary>
public static class DenseOracle
{
    public static double[,] Transpose(double[,] a)
    {
        int r = a.GetLength(0), c = a.GetLength(1);
        var t = new double[c, r];
        for (int i = 0; i < r; i++)
        {
            for (int j = 0; j < c; j++)
            {
                t[j, i] = a[i, j];
            }
        }

        return t;
    }

    public static double[,] Multiply(double[,] a, double[,] b)
    {
        int m = a.GetLength(0), k = a.GetLength(1), n = b.GetLength(1);
        var c = new double[m, n];
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++)
            {
                double x = a[i, p];
                for (int j = 0; j < n; j++)
                {
                    c[i, j] += x * b[p, j];
                }
            }
        }

        return c;
    }

    /// <summary>|A|·|B| elementwise magnitudes, the scale of rounding errors of a product.</summary>
    public static double[,] AbsMultiply(double[,] a, double[,] b)
    {
        int m = a.GetLength(0), k = a.GetLength(1), n = b.GetLength(1);
        var c = new double[m, n];
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++)
            {
                double x = Math.Abs(a[i, p]);
                for (int j = 0; j < n; j++)
                {
                    c[i, j] += x * Math.Abs(b[p, j]);
                }
            }
        }

        return c;
    }

    public static double[,] Identity(int n)
    {
        var r = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            r[i, i] = 1;
        }

        return r;
    }

    public static double MaxAbs(double[,] a)
    {
        double m = 0;
        foreach (double v in a)
        {
            m = Math.Max(m, Math.Abs(v));
        }

        return m;
    }

    public static double MaxAbsDiff(double[,] a, double[,] b)
    {
        double m = 0;
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
            {
                m = Math.Max(m, Math.Abs(a[i, j] - b[i, j]));
            }
        }

        return m;
    }

    /// <summary>A symmetric matrix with uniform entries in [-1, 1).</summary>
    public static double[,] RandomSymmetric(int n, Random rng)
    {
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                a[i, j] = a[j, i] = (rng.NextDouble() * 2) - 1;
            }
        }

        return a;
    }

    /// <summary>A well-conditioned SPD matrix: B·Bᵀ/n + I with B uniform in [-1, 1).</summary>
    public static double[,] RandomSpd(int n, Random rng)
    {
        var b = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                b[i, j] = (rng.NextDouble() * 2) - 1;
            }
        }

        var a = Multiply(b, Transpose(b));
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                a[i, j] /= Math.Max(1, n);
            }

            a[i, i] += 1;
        }

        return a;
    }

    /// <summary>A random orthogonal matrix (modified Gram–Schmidt, twice, on a random matrix).</summary>
    public static double[,] RandomOrthogonal(int n, Random rng)
    {
        var q = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                q[i, j] = (rng.NextDouble() * 2) - 1;
            }
        }

        for (int pass = 0; pass < 2; pass++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int p = 0; p < j; p++)
                {
                    double d = 0;
                    for (int i = 0; i < n; i++)
                    {
                        d += q[i, p] * q[i, j];
                    }

                    for (int i = 0; i < n; i++)
                    {
                        q[i, j] -= d * q[i, p];
                    }
                }

                double norm = 0;
                for (int i = 0; i < n; i++)
                {
                    norm += q[i, j] * q[i, j];
                }

                norm = Math.Sqrt(norm);
                for (int i = 0; i < n; i++)
                {
                    q[i, j] /= norm;
                }
            }
        }

        return q;
    }

    /// <summary>Eigenvalues (ascending) of a symmetric matrix by the cyclic Jacobi method.</summary>
    public static double[] SymmetricEigenvalues(double[,] a0)
    {
        int n = a0.GetLength(0);
        var a = (double[,])a0.Clone();
        for (int sweep = 0; sweep < 60; sweep++)
        {
            double off = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    if (i != j)
                    {
                        off += a[i, j] * a[i, j];
                    }
                }
            }

            if (off < 1e-300)
            {
                break;
            }

            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0)
                    {
                        continue;
                    }

                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = (theta >= 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    double c = 1 / Math.Sqrt((t * t) + 1), s = t * c;
                    for (int r = 0; r < n; r++)
                    {
                        double arp = a[r, p], arq = a[r, q];
                        a[r, p] = (c * arp) - (s * arq);
                        a[r, q] = (s * arp) + (c * arq);
                    }

                    for (int r = 0; r < n; r++)
                    {
                        double apr = a[p, r], aqr = a[q, r];
                        a[p, r] = (c * apr) - (s * aqr);
                        a[q, r] = (s * apr) + (c * aqr);
                    }
                }
            }
        }

        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            w[i] = a[i, i];
        }

        Array.Sort(w);
        return w;
    }

    /// <summary>
    /// Eigenvalues (ascending) and eigenvectors (columns, in the same order) of a symmetric matrix by the cyclic Jacobi
    /// method.
    /// </summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] a0)
    {
        int n = a0.GetLength(0);
        var a = (double[,])a0.Clone();
        var v = Identity(n);
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, scale = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    scale += a[i, j] * a[i, j];
                    if (i != j)
                    {
                        off += a[i, j] * a[i, j];
                    }
                }
            }

            if (off <= 1e-64 * scale || off < 1e-300)
            {
                break;
            }

            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0)
                    {
                        continue;
                    }

                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = (theta >= 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    double c = 1 / Math.Sqrt((t * t) + 1), s = t * c;
                    for (int r = 0; r < n; r++)
                    {
                        double arp = a[r, p], arq = a[r, q];
                        a[r, p] = (c * arp) - (s * arq);
                        a[r, q] = (s * arp) + (c * arq);
                    }

                    for (int r = 0; r < n; r++)
                    {
                        double apr = a[p, r], aqr = a[q, r];
                        a[p, r] = (c * apr) - (s * aqr);
                        a[q, r] = (s * apr) + (c * aqr);
                    }

                    for (int r = 0; r < n; r++)
                    {
                        double vrp = v[r, p], vrq = v[r, q];
                        v[r, p] = (c * vrp) - (s * vrq);
                        v[r, q] = (s * vrp) + (c * vrq);
                    }
                }
            }
        }

        var order = Enumerable.Range(0, n).OrderBy(i => a[i, i]).ToArray();
        var values = new double[n];
        var vectors = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            values[k] = a[order[k], order[k]];
            for (int r = 0; r < n; r++)
            {
                vectors[r, k] = v[r, order[k]];
            }
        }

        return (values, vectors);
    }

    /// <summary>Unit roundoff of the element type.</summary>
    public static double UnitRoundoff<T>() => typeof(T) == typeof(double) ? 1.1102230246251565e-16 : 5.9604645e-8;
}
