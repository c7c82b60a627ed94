using System.Numerics;
using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Backends.Managed.Internals;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// The managed divide-and-conquer tridiagonal eigensolver on its own, against a float64 Sturm-sequence bisection
/// oracle for the eigenvalues, with orthogonality ‖QᵀQ − I‖ and residual ‖T·Q − Q·Λ‖ checked for the eigenvectors, on
/// hard spectra (Wilkinson and glued Wilkinson matrices, Clement matrices with exactly known eigenvalues, graded and
/// clustered diagonals, exact zeros at the split points, tiny and huge scales) and orders 1 … 1100 around the leaf
/// order (25) and the merge levels. Bounds: 8·n·u·‖T‖ (values, residual) and 8·n·u (orthogonality), u the unit roundoff.
/// </summary>
/// <remarks>Set <c>CURVATURE_LONG_TESTS=1</c> for every spectrum at every large order (a few minutes); the default run
/// covers each spectrum at the small and middle orders and two large orders (seconds).</remarks>
public class TridiagonalDivideAndConquerTests
{
    private static readonly bool Long = Environment.GetEnvironmentVariable("CURVATURE_LONG_TESTS") == "1";

    private static readonly int[] SmallOrders = [.. Enumerable.Range(1, 80), 99, 100, 101, 127, 128, 129, 200];

    private static readonly int[] LargeOrders = Long ? [255, 256, 257, 500, 511, 512, 513, 1023, 1024, 1025, 1100] : [257, 1100];

    public static TheoryData<string> Spectra => new()
    {
        "random", "wilkinson", "glued-wilkinson", "clement", "graded", "split-zeros", "cluster", "gram-like", "tiny", "huge",
    };

    [Theory]
    [MemberData(nameof(Spectra))]
    public void Double_AgainstSturmOracle(string spectrum)
    {
        foreach (int n in SmallOrders)
        {
            Check<double>(spectrum, n);
        }

        foreach (int n in LargeOrders.Where(n => Long || spectrum is "random" or "glued-wilkinson" or "cluster" || n < 500))
        {
            Check<double>(spectrum, n);
        }
    }

    [Theory]
    [MemberData(nameof(Spectra))]
    public void Float_AgainstSturmOracle(string spectrum)
    {
        foreach (int n in SmallOrders.Where(n => n % 3 == 0 || n < 30))
        {
            Check<float>(spectrum, n);
        }

        foreach (int n in LargeOrders.Where(n => Long || (spectrum is "random" or "cluster" && n < 500)))
        {
            Check<float>(spectrum, n);
        }
    }

    private static unsafe void Check<T>(string spectrum, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (d0, e0) = Make(spectrum, n, typeof(T) == typeof(double));
        var d = d0.Select(T.CreateTruncating).ToArray();
        var e = e0.Select(T.CreateTruncating).ToArray();
        var dd = d.Select(double.CreateTruncating).ToArray(); // the matrix as the solver sees it
        var ed = e.Select(double.CreateTruncating).ToArray();
        var oracle = SturmEigenvalues(dd, ed);
        double norm = 0;
        for (int i = 0; i < n; i++)
        {
            norm = Math.Max(norm, Math.Abs(dd[i]) + (i > 0 ? Math.Abs(ed[i - 1]) : 0) + (i < n - 1 ? Math.Abs(ed[i]) : 0));
        }

        norm = Math.Max(norm, double.Epsilon);
        var q = new T[n * n];
        var order = new int[n];
        var work = new T[n + 1];
        int info;
        fixed (T* pd = d, pe = work, pq = q)
        fixed (int* po = order)
        {
            e.AsSpan().CopyTo(work);
            info = TridiagonalDivideAndConquer.Solve(pd, pe, n, StridedMatrix<T>.RowMajor(pq, n, n, n), po);
        }

        string what = $"{typeof(T).Name} {spectrum} n={n}";
        Assert.True(info == 0, $"{what}: info {info}");
        double u = typeof(T) == typeof(double) ? 1.1102230246251565e-16 : 5.9604645e-8;
        double tol = 8 * Math.Max(n, 4) * u;

        // Eigenvalues in ascending order through the returned index.
        var lambda = new double[n];
        for (int s = 0; s < n; s++)
        {
            lambda[s] = double.CreateTruncating(d[order[s]]);
            if (s > 0)
            {
                Assert.True(lambda[s - 1] <= lambda[s], $"{what}: order not ascending at {s}");
            }

            if (!(Math.Abs(lambda[s] - oracle[s]) <= tol * norm))
            {
                Assert.Fail($"{what}: λ[{s}] = {lambda[s]:R}, oracle {oracle[s]:R}, |Δ|/‖T‖ = {Math.Abs(lambda[s] - oracle[s]) / norm:E2}");
            }
        }

        // Orthogonality through a float64 product (the managed GEMM, itself tested against a dense oracle).
        var qd = q.Select(double.CreateTruncating).ToArray();
        var qtq = new double[n * n];
        ManagedBackend.Shared.MatrixMultiply<double>(new(qd, n, n), Transpose.Transpose, new(qd, n, n), Transpose.None, new(qtq, n, n), 1, 0);
        double orth = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                orth = Math.Max(orth, Math.Abs(qtq[(i * n) + j] - (i == j ? 1 : 0)));
            }
        }

        Assert.True(orth <= tol, $"{what}: ‖QᵀQ − I‖ = {orth:E2} (bound {tol:E2})");

        // Residual T·q_c − λ_c·q_c for every column c (T tridiagonal: O(n²)).
        double resid = 0;
        for (int c = 0; c < n; c++)
        {
            double lc = double.CreateTruncating(d[c]);
            for (int i = 0; i < n; i++)
            {
                double t = (dd[i] - lc) * qd[(i * n) + c];
                if (i > 0)
                {
                    t += ed[i - 1] * qd[((i - 1) * n) + c];
                }

                if (i < n - 1)
                {
                    t += ed[i] * qd[((i + 1) * n) + c];
                }

                resid = Math.Max(resid, Math.Abs(t));
            }
        }

        Assert.True(resid <= tol * norm, $"{what}: ‖TQ − QΛ‖/‖T‖ = {resid / norm:E2} (bound {tol:E2})");
    }

    /// <summary>Diagonal and off-diagonal of the named test matrix.</summary>
    private static (double[] D, double[] E) Make(string spectrum, int n, bool isDouble)
    {
        var rng = new Random((n * 31) + spectrum.Length);
        var d = new double[n];
        var e = new double[Math.Max(n - 1, 0)];
        switch (spectrum)
        {
            case "random":
                for (int i = 0; i < n; i++)
                {
                    d[i] = (rng.NextDouble() * 2) - 1;
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = (rng.NextDouble() * 2) - 1;
                }

                break;
            case "wilkinson":
                // W⁺: pairs of eigenvalues agreeing to many digits.
                for (int i = 0; i < n; i++)
                {
                    d[i] = Math.Abs(i - ((n - 1) / 2.0));
                }

                Array.Fill(e, 1.0);
                break;
            case "glued-wilkinson":
                // Copies of W⁺₂₁ glued by 1e-10: clusters of n/21 eigenvalues within ~1e-10 (hard for D&C and MRRR).
                for (int i = 0; i < n; i++)
                {
                    d[i] = Math.Abs((i % 21) - 10.0);
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = (i % 21) == 20 ? 1e-10 : 1.0;
                }

                break;
            case "clement":
                // Eigenvalues ±(n−1), ±(n−3), …: known exactly.
                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = Math.Sqrt((double)(i + 1) * (n - 1 - i));
                }

                break;
            case "graded":
                for (int i = 0; i < n; i++)
                {
                    d[i] = Math.Pow(2, -i * (isDouble ? 1.0 : 0.25));
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = d[i + 1] * 0.5;
                }

                break;
            case "split-zeros":
                // Exact zeros at and around the split points (ρ = 0 merges) and elsewhere.
                for (int i = 0; i < n; i++)
                {
                    d[i] = rng.Next(-3, 4);
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = (i % 7 == 3 || i == (n / 2) - 1 || i == (n / 4) - 1) ? 0 : rng.Next(1, 3);
                }

                break;
            case "cluster":
                // A large cluster (equal diagonal, tiny couplings) next to a few separated values.
                for (int i = 0; i < n; i++)
                {
                    d[i] = i % 9 == 0 ? 1 + (i * 0.1) : 1;
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = 1e-9 * rng.NextDouble();
                }

                break;
            case "gram-like":
                // Positive semi-definite with most eigenvalues (near) zero, as a K-FAC factor of a small batch.
                for (int i = 0; i < n; i++)
                {
                    d[i] = i < Math.Max(1, n / 8) ? rng.NextDouble() + 1 : 1e-17 * rng.NextDouble();
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = i < Math.Max(1, n / 8) - 1 ? rng.NextDouble() * 0.5 : 0;
                }

                break;
            case "tiny":
            case "huge":
                double scale = spectrum == "tiny" ? (isDouble ? 1e-300 : 1e-30) : (isDouble ? 1e300 : 1e30);
                for (int i = 0; i < n; i++)
                {
                    d[i] = ((rng.NextDouble() * 2) - 1) * scale;
                }

                for (int i = 0; i < e.Length; i++)
                {
                    e[i] = ((rng.NextDouble() * 2) - 1) * scale;
                }

                break;
            default:
                throw new ArgumentException(spectrum);
        }

        return (d, e);
    }

    /// <summary>All eigenvalues, ascending, by bisection on the Sturm count (float64, on the matrix scaled exactly by a
    /// power of two to max-norm about 1, to 1e-4 ulps of the norm).</summary>
    private static double[] SturmEigenvalues(double[] d0, double[] e0)
    {
        int n = d0.Length;
        double max = 0;
        foreach (double v in d0.Concat(e0))
        {
            max = Math.Max(max, Math.Abs(v));
        }

        if (max == 0)
        {
            return new double[n];
        }

        int shift = -Math.ILogB(max);
        var d = d0.Select(v => Math.ScaleB(v, shift)).ToArray();
        var e = e0.Select(v => Math.ScaleB(v, shift)).ToArray();
        double bound = 0;
        for (int i = 0; i < n; i++)
        {
            bound = Math.Max(bound, Math.Abs(d[i]) + (i > 0 ? Math.Abs(e[i - 1]) : 0) + (i < n - 1 ? Math.Abs(e[i]) : 0));
        }

        double pivmin = 1e-290;
        double resolution = Math.Max(bound, 1e-300) * 1e-20;
        var result = new double[n];
        for (int k = 0; k < n; k++)
        {
            // The (k+1)-th smallest eigenvalue: Count(x) = number of eigenvalues below x.
            double lo = -bound - 1e-300, hi = bound + 1e-300;
            while (hi - lo > Math.Max(resolution, 4e-16 * Math.Max(Math.Abs(lo), Math.Abs(hi))))
            {
                double mid = lo + ((hi - lo) / 2);
                if (Count(d, e, mid, pivmin) > k)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid;
                }
            }

            result[k] = Math.ScaleB(lo + ((hi - lo) / 2), -shift);
        }

        return result;
    }

    private static int Count(double[] d, double[] e, double x, double pivmin)
    {
        int count = 0;
        double q = d[0] - x;
        for (int i = 0; ; i++)
        {
            if (Math.Abs(q) < pivmin)
            {
                q = -pivmin;
            }

            if (q < 0)
            {
                count++;
            }

            if (i + 1 >= d.Length)
            {
                return count;
            }

            q = d[i + 1] - x - (e[i] * e[i] / q);
        }
    }
}
