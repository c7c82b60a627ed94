using System.Numerics;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// POTRF / POTRI / POTRS on every backend against float64 oracles, both triangles, pitches, float and double.
/// Matrices are B·Bᵀ/n + I (condition number below about 10), so the bounds are backward-error bounds:
/// ‖LLᵀ − A‖max ≤ 8·n·u·‖A‖max, ‖A·X − I‖max ≤ 8·n²·u·‖A‖max·‖X‖max, ‖A·X − B‖max ≤ 8·n²·u·‖A‖max·‖X‖max.
/// </summary>
public class CholeskyTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Double_FactorInverseSolve(string backend) => RunSweep<double>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Float_FactorInverseSolve(string backend) => RunSweep<float>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Large_257(string backend)
    {
        var b = TestBackends.Get(backend);
        Check<double>(b, new Random(5), 257, Triangle.Upper, 7, 3);
        Check<double>(b, new Random(6), 200, Triangle.Lower, 0, 65);
        Check<float>(b, new Random(7), 257, Triangle.Lower, 1, 2);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void NotPositiveDefinite_ReportsOrderOfFirstBadMinor(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (var tri in new[] { Triangle.Lower, Triangle.Upper })
        {
            foreach (int n in new[] { 3, 4, 9, 64, 127 })
            {
                var spd = DenseOracle.RandomSpd(n, new Random(n));
                spd[2, 2] = -1; // leading 2 × 2 minor is positive definite, the 3 × 3 one is not
                AssertInfo<double>(b, spd, tri, 3);
                AssertInfo<float>(b, spd, tri, 3);
            }

            var big = DenseOracle.RandomSpd(127, new Random(9));
            big[99, 99] = -2;
            AssertInfo<double>(b, big, tri, 100);

            var nan = DenseOracle.RandomSpd(10, new Random(10));
            nan[4, 4] = double.NaN;
            AssertInfo<double>(b, nan, tri, 5);

            var zeroPivot = DenseOracle.Identity(6);
            zeroPivot[0, 0] = 0;
            AssertInfo<float>(b, zeroPivot, tri, 1);
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void SingularFactor_InverseReportsFirstZeroDiagonal(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (var tri in new[] { Triangle.Lower, Triangle.Upper })
        {
            foreach (int n in new[] { 3, 8, 70 })
            {
                var m = new PaddedMatrix<double>(n, n, 1);
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j <= i; j++)
                    {
                        double v = i == j ? 1 + (0.1 * i) : 0.01 * (i - j);
                        if (tri == Triangle.Lower)
                        {
                            m[i, j] = v;
                        }
                        else
                        {
                            m[j, i] = v;
                        }
                    }
                }

                m[2, 2] = 0;
                var status = b.TryCholeskyInverse(m.Span, tri);
                Assert.Equal(3, status.Info);
                Assert.False(status.Succeeded);
                Assert.Throws<MatrixNotPositiveDefiniteException>(() => b.CholeskyInverse(m.Span, tri));
            }
        }
    }

    private static void AssertInfo<T>(CurvatureBackend backend, double[,] a, Triangle tri, int expected)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.GetLength(0);
        bool lower = tri == Triangle.Lower;
        var m = new PaddedMatrix<T>(n, n, 3).Set(a, (i, j) => lower ? j <= i : j >= i);
        var status = backend.TryCholeskyFactor(m.Span, tri);
        Assert.True(expected == status.Info, $"{typeof(T).Name} n={n} {tri}: info {status.Info}, expected {expected}");

        // The leading (info − 1) columns hold the finished part of the factor, like LAPACK.
        int done = expected - 1;
        var l = new double[done, done];
        var lead = new double[done, done];
        for (int i = 0; i < done; i++)
        {
            for (int j = 0; j < done; j++)
            {
                lead[i, j] = double.CreateChecked(T.CreateChecked(a[i, j]));
                if (j <= i)
                {
                    l[i, j] = double.CreateChecked(lower ? m[i, j] : m[j, i]);
                }
            }
        }

        double err = DenseOracle.MaxAbsDiff(DenseOracle.Multiply(l, DenseOracle.Transpose(l)), lead);
        Assert.True(err <= 8 * Math.Max(1, done) * DenseOracle.UnitRoundoff<T>() * Math.Max(1, DenseOracle.MaxAbs(lead)), $"partial factor error {err}");
        AssertUntouched(m, tri, "potrf failure");
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => backend.CholeskyFactor(new PaddedMatrix<T>(n, n, 0).Set(a).Span, tri));
    }

    private static void RunSweep<T>(CurvatureBackend backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(typeof(T) == typeof(double) ? 31 : 32);
        int caseNo = 0;
        foreach (int n in KernelSizes.All)
        {
            foreach (var tri in new[] { Triangle.Lower, Triangle.Upper })
            {
                Check<T>(backend, rng, n, tri, KernelSizes.Pitches[caseNo % 3], 1 + (caseNo % 7 * 3));
                caseNo++;
            }
        }
    }

    private static void Check<T>(CurvatureBackend backend, Random rng, int n, Triangle tri, int pitch, int rhs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool lower = tri == Triangle.Lower;
        string what = $"{typeof(T).Name} n={n} {tri} pitch={pitch}";
        double u = DenseOracle.UnitRoundoff<T>();
        var a = DenseOracle.RandomSpd(n, rng);
        var m = new PaddedMatrix<T>(n, n, pitch).Set(a, (i, j) => lower ? j <= i : j >= i);
        a = new PaddedMatrix<T>(n, n, 0).Set(a).ToDouble(); // A as rounded to T
        double normA = Math.Max(DenseOracle.MaxAbs(a), 1e-300);

        // POTRF
        var status = backend.TryCholeskyFactor(m.Span, tri);
        Assert.True(status.Succeeded, $"{what}: potrf info {status.Info}");
        AssertUntouched(m, tri, what + " potrf");
        var l = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                l[i, j] = double.CreateChecked(lower ? m[i, j] : m[j, i]);
            }
        }

        double factorErr = DenseOracle.MaxAbsDiff(DenseOracle.Multiply(l, DenseOracle.Transpose(l)), a);
        Assert.True(factorErr <= 8 * Math.Max(n, 1) * u * normA, $"{what}: ‖LLᵀ − A‖ = {factorErr}");

        // POTRS with the factor (B has its own pitch).
        var bm = new PaddedMatrix<T>(n, rhs, (pitch + 2) % 8).FillRandom(rng);
        var b0 = bm.ToDouble();
        backend.CholeskySolve(m.ReadOnly, tri, bm.Span);
        var x = bm.ToDouble();
        double solveErr = DenseOracle.MaxAbsDiff(DenseOracle.Multiply(a, x), b0);
        double solveTol = 8 * Math.Max(n, 1) * Math.Max(n, 1) * u * normA * Math.Max(DenseOracle.MaxAbs(x), 1);
        Assert.True(solveErr <= solveTol, $"{what}: ‖AX − B‖ = {solveErr} > {solveTol}");
        Assert.Null(bm.FindTouchedPadding());

        // POTRI: full symmetric inverse.
        status = backend.TryCholeskyInverse(m.Span, tri);
        Assert.True(status.Succeeded, $"{what}: potri info {status.Info}");
        var inv = m.ToDouble();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                Assert.True(inv[i, j] == inv[j, i], $"{what}: inverse not symmetric at ({i},{j})");
            }
        }

        double invErr = DenseOracle.MaxAbsDiff(DenseOracle.Multiply(a, inv), DenseOracle.Identity(n));
        double invTol = 8 * Math.Max(n, 1) * Math.Max(n, 1) * u * normA * Math.Max(DenseOracle.MaxAbs(inv), 1);
        Assert.True(invErr <= invTol, $"{what}: ‖AX − I‖ = {invErr} > {invTol}");
        Assert.Null(m.FindTouchedPadding());
    }

    private static void AssertUntouched<T>(PaddedMatrix<T> m, Triangle tri, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m.Rows; i++)
        {
            for (int j = 0; j < m.Cols; j++)
            {
                bool inside = tri == Triangle.Lower ? j <= i : j >= i;
                if (!inside && !PaddedMatrix<T>.IsSentinel(m[i, j]))
                {
                    Assert.Fail($"{what}: element ({i},{j}) outside the triangle was written");
                }
            }
        }

        Assert.True(m.FindTouchedPadding() is null, $"{what}: {m.FindTouchedPadding()}");
    }
}
