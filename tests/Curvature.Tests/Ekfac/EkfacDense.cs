namespace Curvature.Tests.Ekfac;

/// <summary>Small dense float64 oracles for the EKFAC tests.</summary>
internal static class EkfacDense
{
    public static double[,] FromRowMajor(double[] data, int n)
    {
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                m[i, j] = data[(i * n) + j];
            }
        }

        return m;
    }

    public static double FrobeniusDistance(double[,] a, double[,] b)
    {
        double s = 0;
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
            {
                double d = a[i, j] - b[i, j];
                s += d * d;
            }
        }

        return Math.Sqrt(s);
    }

    public static double MaxAbs(double[,] a) => a.Cast<double>().Max(Math.Abs);

    /// <summary>Gauss–Jordan inverse with partial pivoting; also returns log|det|.</summary>
    public static (double[,] Inverse, double LogAbsDet) Invert(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var inv = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            inv[i, i] = 1;
        }

        double logDet = 0;
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
            {
                if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col]))
                {
                    pivot = r;
                }
            }

            if (pivot != col)
            {
                for (int j = 0; j < n; j++)
                {
                    (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
                    (inv[col, j], inv[pivot, j]) = (inv[pivot, j], inv[col, j]);
                }
            }

            double p = a[col, col];
            logDet += Math.Log(Math.Abs(p));
            for (int j = 0; j < n; j++)
            {
                a[col, j] /= p;
                inv[col, j] /= p;
            }

            for (int r = 0; r < n; r++)
            {
                if (r == col || a[r, col] == 0)
                {
                    continue;
                }

                double f = a[r, col];
                for (int j = 0; j < n; j++)
                {
                    a[r, j] -= f * a[col, j];
                    inv[r, j] -= f * inv[col, j];
                }
            }
        }

        return (inv, logDet);
    }
}
