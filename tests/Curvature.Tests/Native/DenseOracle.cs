using System.Numerics;

namespace Curvature.Tests.Native;

/// <summary>Dense float64 oracles and test matrices for the native parity suite (written here, independent of every backend).</summary>
internal static class DenseOracle
{
    /// <summary>Unit roundoff of <typeparamref name="T"/>: 2⁻²⁴ for float, 2⁻⁵³ for double.</summary>
    public static double UnitRoundoff<T>() => typeof(T) == typeof(float) ? Math.ScaleB(1.0, -24) : Math.ScaleB(1.0, -53);

    /// <summary>A random symmetric, strongly diagonally dominant matrix: off-diagonal in [-½, ½], diagonal n + 1, so by
    /// Gershgorin every eigenvalue lies in [n/2 + 1.5, 3n/2 + 0.5] and the condition number is below 3.</summary>
    public static double[,] WellConditionedSpd<T>(int n, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            a[i, i] = n + 1;
            for (int j = 0; j < i; j++)
            {
                // Rounded to T so the oracle sees exactly what the backends see.
                double v = double.CreateTruncating(T.CreateTruncating(rng.NextDouble() - 0.5));
                a[i, j] = v;
                a[j, i] = v;
            }
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

        for (int j = 0; j < n; j++)
        {
            for (int pass = 0; pass < 2; pass++)
            {
                for (int p = 0; p < j; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < n; i++)
                    {
                        dot += q[i, p] * q[i, j];
                    }

                    for (int i = 0; i < n; i++)
                    {
                        q[i, j] -= dot * q[i, p];
                    }
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

        return q;
    }

    /// <summary>Q·diag(w)·Qᵀ, each entry rounded to <typeparamref name="T"/> (symmetric by construction).</summary>
    public static double[,] FromSpectrum<T>(double[,] q, double[] w)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = w.Length;
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int p = 0; p < n; p++)
                {
                    s += q[i, p] * w[p] * q[j, p];
                }

                s = double.CreateTruncating(T.CreateTruncating(s));
                a[i, j] = s;
                a[j, i] = s;
            }
        }

        return a;
    }
}
