using System.Numerics;
using Curvature.Internals;

namespace Curvature.Backends.Managed;

/// <summary>
/// Straightforward (unblocked, unvectorised) implementations of the backend contract. Correct but slow:
/// a placeholder until the tuned managed kernels land, and an independent oracle for tests afterwards.
/// </summary>
internal static class ReferenceKernels
{
    public static void Gemm<T>(MatrixRef<T> a, bool ta, MatrixRef<T> b, bool tb, MatrixRef<T> c, int k, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < c.Rows; i++)
        {
            for (int j = 0; j < c.Cols; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T x = ta ? a.At(p, i) : a.At(i, p);
                    T y = tb ? b.At(j, p) : b.At(p, j);
                    sum += x * y;
                }

                ref T cij = ref c.At(i, j);
                cij = T.IsZero(beta) ? alpha * sum : (alpha * sum) + (beta * cij);
            }
        }
    }

    public static void Syrk<T>(MatrixRef<T> a, bool ta, MatrixRef<T> c, bool lower, int n, int k, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            int jFrom = lower ? 0 : i;
            int jTo = lower ? i : n - 1;
            for (int j = jFrom; j <= jTo; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    sum += ta ? a.At(p, i) * a.At(p, j) : a.At(i, p) * a.At(j, p);
                }

                ref T cij = ref c.At(i, j);
                cij = T.IsZero(beta) ? alpha * sum : (alpha * sum) + (beta * cij);
            }
        }
    }

    // Element (i, j) of the lower factor L, stored in the lower triangle (lower) or as U = Lᵀ in the upper one.
    private static ref T L<T>(MatrixRef<T> a, bool lower, int i, int j) => ref lower ? ref a.At(i, j) : ref a.At(j, i);

    public static int Potrf<T>(MatrixRef<T> a, bool lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        for (int j = 0; j < n; j++)
        {
            T d = L(a, lower, j, j);
            for (int p = 0; p < j; p++)
            {
                T l = L(a, lower, j, p);
                d -= l * l;
            }

            if (!(d > T.Zero))
            {
                L(a, lower, j, j) = d;
                return j + 1;
            }

            d = T.Sqrt(d);
            L(a, lower, j, j) = d;
            for (int i = j + 1; i < n; i++)
            {
                T s = L(a, lower, i, j);
                for (int p = 0; p < j; p++)
                {
                    s -= L(a, lower, i, p) * L(a, lower, j, p);
                }

                L(a, lower, i, j) = s / d;
            }
        }

        return 0;
    }

    public static int Potri<T>(MatrixRef<T> a, bool lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        for (int j = 0; j < n; j++)
        {
            if (T.IsZero(L(a, lower, j, j)))
            {
                return j + 1;
            }
        }

        // L ← L⁻¹ (column by column, lower triangular).
        for (int j = 0; j < n; j++)
        {
            L(a, lower, j, j) = T.One / L(a, lower, j, j);
            for (int i = j + 1; i < n; i++)
            {
                T s = T.Zero;
                for (int p = j; p < i; p++)
                {
                    s += L(a, lower, i, p) * L(a, lower, p, j);
                }

                L(a, lower, i, j) = -s / L(a, lower, i, i);
            }
        }

        // A⁻¹ = L⁻ᵀ L⁻¹: element (i, j), i ≥ j, is Σ_{p ≥ i} Linv[p, i]·Linv[p, j]; computed in place row by row from the top.
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                T s = T.Zero;
                for (int p = i; p < n; p++)
                {
                    s += L(a, lower, p, i) * L(a, lower, p, j);
                }

                L(a, lower, i, j) = s;
            }
        }

        return 0;
    }

    public static void Potrs<T>(MatrixRef<T> f, bool lower, MatrixRef<T> b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = f.Rows;
        for (int col = 0; col < b.Cols; col++)
        {
            for (int i = 0; i < n; i++)
            {
                T s = b.At(i, col);
                for (int p = 0; p < i; p++)
                {
                    s -= L(f, lower, i, p) * b.At(p, col);
                }

                b.At(i, col) = s / L(f, lower, i, i);
            }

            for (int i = n - 1; i >= 0; i--)
            {
                T s = b.At(i, col);
                for (int p = i + 1; p < n; p++)
                {
                    s -= L(f, lower, p, i) * b.At(p, col);
                }

                b.At(i, col) = s / L(f, lower, i, i);
            }
        }
    }

    /// <summary>Cyclic Jacobi eigensolver in double precision.</summary>
    public static int Syevd<T>(MatrixRef<T> a, bool lower, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double v = double.CreateChecked(lower ? a.At(i, j) : a.At(j, i));
                m[i, j] = v;
                m[j, i] = v;
            }
        }

        var v2 = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            v2[i, i] = 1;
        }

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, total = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    total += m[i, j] * m[i, j];
                    if (i != j)
                    {
                        off += m[i, j] * m[i, j];
                    }
                }
            }

            if (double.IsNaN(total))
            {
                return 1;
            }

            if (off <= 1e-30 * total || off == 0)
            {
                break;
            }

            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = m[p, q];
                    if (apq == 0)
                    {
                        continue;
                    }

                    double theta = (m[q, q] - m[p, p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    if (theta == 0)
                    {
                        t = 1;
                    }

                    double cs = 1 / Math.Sqrt((t * t) + 1), sn = t * cs;
                    for (int r = 0; r < n; r++)
                    {
                        double mrp = m[r, p], mrq = m[r, q];
                        m[r, p] = (cs * mrp) - (sn * mrq);
                        m[r, q] = (sn * mrp) + (cs * mrq);
                    }

                    for (int r = 0; r < n; r++)
                    {
                        double mpr = m[p, r], mqr = m[q, r];
                        m[p, r] = (cs * mpr) - (sn * mqr);
                        m[q, r] = (sn * mpr) + (cs * mqr);
                    }

                    for (int r = 0; r < n; r++)
                    {
                        double vrp = v2[r, p], vrq = v2[r, q];
                        v2[r, p] = (cs * vrp) - (sn * vrq);
                        v2[r, q] = (sn * vrp) + (cs * vrq);
                    }
                }
            }
        }

        var order = new int[n];
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            w[i] = m[i, i];
        }

        Array.Sort(w, order);
        for (int j = 0; j < n; j++)
        {
            eigenvalues[j] = T.CreateChecked(w[j]);
            for (int i = 0; i < n; i++)
            {
                a.At(i, j) = T.CreateChecked(v2[i, order[j]]);
            }
        }

        return 0;
    }
}
