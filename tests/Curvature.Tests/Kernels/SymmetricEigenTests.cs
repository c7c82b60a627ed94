using System.Numerics;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// Symmetric eigendecomposition on every backend: eigenvalues against a float64 Jacobi oracle, residual
/// ‖AQ − QΛ‖, orthogonality ‖QᵀQ − I‖, the sign rule, degenerate spectra through reconstruction.
/// Bounds (backward stable solvers): |λ − λ*| and ‖AQ − QΛ‖max ≤ 16·n·u·‖A‖F; ‖QᵀQ − I‖max ≤ 16·n·u, with
/// u = 2⁻⁵³ (double) or 2⁻²⁴ (float; float input is decomposed in float).
/// </summary>
public class SymmetricEigenTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Double_RandomSymmetric(string backend) => RunSweep<double>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Float_RandomSymmetric(string backend) => RunSweep<float>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Large_BlockedReduction(string backend)
    {
        // Orders around and above the managed solver's blocked-reduction crossover (one and several panels).
        var b = TestBackends.Get(backend);
        foreach (int n in new[] { 161, 257, 419 })
        {
            var a = DenseOracle.RandomSymmetric(n, new Random(n));
            Check<double>(b, a, n % 2 == 0 ? Triangle.Upper : Triangle.Lower, 7, oracle: null);
            Check<float>(b, a, Triangle.Upper, 1, oracle: null);
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void DegenerateSpectra_ReconstructA(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (int n in new[] { 2, 5, 17, 64 })
        {
            var q0 = DenseOracle.RandomOrthogonal(n, new Random(n));
            var lam = new double[n, n];
            for (int i = 0; i < n; i++)
            {
                lam[i, i] = i % 3 == 0 ? 1.0 : i % 3 == 1 ? -2.0 : 1.0; // values repeat many times
            }

            var a = DenseOracle.Multiply(DenseOracle.Multiply(q0, lam), DenseOracle.Transpose(q0));
            var expected = Enumerable.Range(0, n).Select(i => lam[i, i]).Order().ToArray();
            Check<double>(b, a, Triangle.Upper, 1, expected);
            Check<float>(b, a, Triangle.Lower, 0, expected);
        }

        // Exactly diagonal / identity / zero matrices.
        Check<double>(b, DenseOracle.Identity(9), Triangle.Lower, 0, Enumerable.Repeat(1.0, 9).ToArray());
        Check<double>(b, new double[7, 7], Triangle.Upper, 7, new double[7]);
        var diag = new double[6, 6];
        double[] values = [3, -1, 3, 0, -1, 3];
        for (int i = 0; i < 6; i++)
        {
            diag[i, i] = values[i];
        }

        Check<float>(b, diag, Triangle.Upper, 1, values.Order().ToArray());
    }

    /// <summary>
    /// Rank-deficient PSD Gram matrices XᵀX with fewer rows than columns (K-FAC factors of small batches): a large
    /// cluster of zero eigenvalues, whose tridiagonal form has near-zero diagonal entries next to tiny off-diagonals.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void RankDeficientGram_Converges(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (var (rows, n) in new[] { (3, 49), (10, 64), (32, 130), (100, 300), (64, 577) })
        {
            var rng = new Random((rows * 1000) + n);
            var x = new double[rows, n];
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    x[i, j] = (rng.NextDouble() * 2) - 1;
                }
            }

            var a = DenseOracle.Multiply(DenseOracle.Transpose(x), x);
            Check<double>(b, a, n % 2 == 0 ? Triangle.Lower : Triangle.Upper, 1, oracle: null);
            Check<float>(b, a, Triangle.Lower, 0, oracle: null);
        }
    }

    /// <summary>
    /// Finite matrices near the ends of the floating-point range (entries ~1e-307 or ~1e307 in double, ~1e-37 or
    /// ~1e37 in float): the solver must scale into the safe range as LAPACK ?syevd does, not overflow, underflow or
    /// lose orthogonality. Checked in units of the scale: λ/s against the float64 oracle of the unscaled matrix B,
    /// ‖QᵀQ − I‖ and ‖B·Q − Q·Λ/s‖.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void ExtremeScales_ScaledIntoTheSafeRange(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (int n in new[] { 16, 40, 87, 100 })
        {
            var unscaled = DenseOracle.RandomSymmetric(n, new Random(n + 1000));
            var oracle = DenseOracle.SymmetricEigenvalues(unscaled);
            foreach (double scale in new[] { 1e-307, 1e-305, 1e-300, 1e300, 1e307 })
            {
                CheckScaled<double>(b, unscaled, oracle, scale, n % 2 == 0 ? Triangle.Lower : Triangle.Upper);
            }

            foreach (double scale in new[] { 1e-37, 1e-36, 1e36, 1e37 })
            {
                CheckScaled<float>(b, unscaled, oracle, scale, Triangle.Lower);
            }
        }
    }

    /// <summary>
    /// Subnormal entries beside a normal one (the K-FAC input factor of tiny activations with its ones column): the
    /// Householder reflectors of such columns must be formed as LAPACK ?larfg forms them (rescaled out of the subnormal
    /// range), not through a reciprocal that overflows. The decomposition must succeed and reconstruct A.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void SubnormalEntriesBesideANormalOne_Decompose(string backend)
    {
        var b = TestBackends.Get(backend);
        var rng = new Random(77);
        foreach (double tiny in new[] { 1e-310, 1e-318, 4.9e-324 })
        {
            foreach (int n in new[] { 3, 5, 12 })
            {
                var a = new double[n, n];
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j <= i; j++)
                    {
                        a[i, j] = a[j, i] = (rng.NextDouble() - 0.5) * tiny * rng.Next(3);
                    }
                }

                a[n - 1, n - 1] = 1;
                var m = new PaddedMatrix<double>(n, n, 1);
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        m[i, j] = a[i, j];
                    }
                }

                var w = new double[n];
                var status = b.TrySymmetricEigen(m.Span, Triangle.Lower, w.AsSpan());
                Assert.True(status.Succeeded, $"{backend} n={n} tiny={tiny:g3}: info {status.Info}");
                var q = m.ToDouble();
                var qlqt = DenseOracle.Multiply(DenseOracle.Multiply(q, Diagonal(w)), DenseOracle.Transpose(q));
                Assert.True(DenseOracle.MaxAbsDiff(qlqt, a) <= 1e-14, $"{backend} n={n} tiny={tiny:g3}: ‖QΛQᵀ − A‖ = {DenseOracle.MaxAbsDiff(qlqt, a)}");
                Assert.True(DenseOracle.MaxAbsDiff(DenseOracle.Multiply(DenseOracle.Transpose(q), q), DenseOracle.Identity(n)) <= 1e-14);
            }
        }
    }

    private static double[,] Diagonal(double[] values)
    {
        var d = new double[values.Length, values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            d[i, i] = values[i];
        }

        return d;
    }

    private static void CheckScaled<T>(CurvatureBackend backend, double[,] unscaled, double[] oracle, double scale, Triangle tri)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = unscaled.GetLength(0);
        string what = $"{backend.Name} {typeof(T).Name} n={n} scale={scale:0e0} {tri}";
        var m = new PaddedMatrix<T>(n, n, 1);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                m[i, j] = T.CreateChecked(unscaled[i, j] * scale);
            }
        }

        // B as the solver sees it (entries rounded to T at this scale), in units of the scale.
        var bSeen = new double[n, n];
        double normF = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                bSeen[i, j] = double.CreateChecked(m[i, j]) / scale;
                normF += bSeen[i, j] * bSeen[i, j];
            }
        }

        normF = Math.Sqrt(normF);
        var w = new T[n];
        var status = backend.TrySymmetricEigen(m.Span, tri, w.AsSpan());
        Assert.True(status.Succeeded, $"{what}: info {status.Info}");
        double u = DenseOracle.UnitRoundoff<T>();
        double tol = 16 * n * u;

        // Rounding B's entries to T at this scale moves the eigenvalues by at most ‖B − B_seen‖₂ ≤ n·max|δ|.
        double entryError = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                entryError = Math.Max(entryError, Math.Abs(bSeen[i, j] - unscaled[i, j]));
            }
        }

        var lambda = w.Select(v => double.CreateChecked(v) / scale).ToArray();
        for (int j = 0; j < n; j++)
        {
            Assert.True(double.IsFinite(lambda[j]) && Math.Abs(lambda[j] - oracle[j]) <= (tol * normF) + (n * entryError), $"{what}: λ[{j}]/s = {lambda[j]}, oracle {oracle[j]}");
        }

        var q = m.ToDouble();
        double orth = DenseOracle.MaxAbsDiff(DenseOracle.Multiply(DenseOracle.Transpose(q), q), DenseOracle.Identity(n));
        Assert.True(orth <= tol, $"{what}: ‖QᵀQ − I‖ = {orth}");
        var bq = DenseOracle.Multiply(bSeen, q);
        double resid = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                resid = Math.Max(resid, Math.Abs(bq[i, j] - (q[i, j] * lambda[j])));
            }
        }

        Assert.True(resid <= tol * normF, $"{what}: ‖BQ − QΛ/s‖ = {resid}");
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void NaNInput_TerminatesAndDoesNotReportCleanSuccess(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (int n in new[] { 1, 4, 40 })
        {
            var a = DenseOracle.RandomSymmetric(n, new Random(n));
            a[n / 2, n / 2] = double.NaN;
            var m = new PaddedMatrix<double>(n, n, 0).Set(a);
            var w = new double[n];
            var status = b.TrySymmetricEigen(m.Span, Triangle.Lower, w);
            Assert.True(!status.Succeeded || w.Any(double.IsNaN), $"n={n}: NaN input reported as a clean success");
        }
    }

    private static void RunSweep<T>(CurvatureBackend backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(typeof(T) == typeof(double) ? 41 : 42);
        int caseNo = 0;
        foreach (int n in KernelSizes.All)
        {
            var a = DenseOracle.RandomSymmetric(n, rng);
            var rounded = new PaddedMatrix<T>(n, n, 0).Set(a).ToDouble();
            var oracle = DenseOracle.SymmetricEigenvalues(rounded);
            foreach (var tri in new[] { Triangle.Lower, Triangle.Upper })
            {
                Check<T>(backend, a, tri, KernelSizes.Pitches[caseNo % 3], oracle);
                caseNo++;
            }
        }
    }

    private static void Check<T>(CurvatureBackend backend, double[,] a0, Triangle tri, int pitch, double[]? oracle)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a0.GetLength(0);
        bool lower = tri == Triangle.Lower;
        string what = $"{typeof(T).Name} n={n} {tri} pitch={pitch}";
        var m = new PaddedMatrix<T>(n, n, pitch).Set(a0, (i, j) => lower ? j <= i : j >= i);
        var a = new PaddedMatrix<T>(n, n, 0).Set(a0).ToDouble();
        var w = new T[n];
        var status = backend.TrySymmetricEigen(m.Span, tri, w.AsSpan());
        Assert.True(status.Succeeded, $"{what}: info {status.Info}");
        Assert.Null(m.FindTouchedPadding());

        double u = DenseOracle.UnitRoundoff<T>();
        double normF = 0;
        foreach (double v in a)
        {
            normF += v * v;
        }

        normF = Math.Max(Math.Sqrt(normF), 1e-300);
        double tol = 16 * Math.Max(n, 1) * u;
        var lambda = w.Select(double.CreateChecked).ToArray();
        for (int j = 1; j < n; j++)
        {
            Assert.True(lambda[j - 1] <= lambda[j], $"{what}: eigenvalues not ascending at {j}");
        }

        if (oracle is not null)
        {
            for (int j = 0; j < n; j++)
            {
                Assert.True(Math.Abs(lambda[j] - oracle[j]) <= tol * normF, $"{what}: λ[{j}] = {lambda[j]}, oracle {oracle[j]}");
            }
        }

        var q = m.ToDouble();
        var qtq = DenseOracle.Multiply(DenseOracle.Transpose(q), q);
        double orth = DenseOracle.MaxAbsDiff(qtq, DenseOracle.Identity(n));
        Assert.True(orth <= tol, $"{what}: ‖QᵀQ − I‖ = {orth}");

        var aq = DenseOracle.Multiply(a, q);
        var ql = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                ql[i, j] = q[i, j] * lambda[j];
            }
        }

        double resid = DenseOracle.MaxAbsDiff(aq, ql);
        Assert.True(resid <= tol * normF, $"{what}: ‖AQ − QΛ‖ = {resid}");

        // Reconstruction (meaningful also for repeated eigenvalues).
        var rec = DenseOracle.Multiply(ql, DenseOracle.Transpose(q));
        double recErr = DenseOracle.MaxAbsDiff(rec, a);
        Assert.True(recErr <= tol * normF, $"{what}: ‖QΛQᵀ − A‖ = {recErr}");

        // Sign rule: in each column the entry of largest magnitude (lowest index on a tie) is positive.
        for (int j = 0; j < n; j++)
        {
            int best = 0;
            for (int i = 1; i < n; i++)
            {
                if (Math.Abs(q[i, j]) > Math.Abs(q[best, j]))
                {
                    best = i;
                }
            }

            Assert.True(q[best, j] > 0, $"{what}: sign rule broken in column {j}");
        }
    }
}
