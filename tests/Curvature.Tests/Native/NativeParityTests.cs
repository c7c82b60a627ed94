using System.Numerics;
using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Native;

/// <summary>
/// Native (OpenBLAS, MKL) versus managed parity for every kernel, both precisions, sizes 0–17, 31, 32, 33, 64, 127
/// (257 in a few cases only, to keep the suite fast) and row pitch 0, 1 and 7, with NaN sentinels in row padding and in
/// the triangle a symmetric routine must not touch. Every result is also checked against a float64 oracle computed here.
/// </summary>
/// <remarks>
/// Tolerances, with u the unit roundoff of the element type (2⁻²⁴ for float32, 2⁻⁵³ for float64) — the float32 ones are
/// these same formulas with u = 2⁻²⁴ ≈ 6.0e-8:
/// <list type="bullet">
/// <item>GEMM / SYRK, per element: |C − C_exact| ≤ 4(k + 2)·u·(|α|·(|A|·|B|)ᵢⱼ + |β|·|Cᵢⱼ|) (the standard dot-product bound,
/// with a factor 4 of slack); native and managed may differ by twice that.</item>
/// <item>Cholesky factor / inverse / solve on matrices with condition number below 3: 64(n + 2)·u relative to the largest
/// entry involved (factor ~ √(n+1), inverse ~ 1/n, residuals against ‖A‖·‖X‖).</item>
/// <item>Eigenvalues: 64(n + 2)·u·‖A‖; eigenvectors (spectral gap 1, after the shared sign rule): 64(n + 2)·u·‖A‖ / gap;
/// reconstruction Q·diag(w)·Qᵀ and QᵀQ: 64(n + 2)·u·max(1, ‖A‖).</item>
/// </list>
/// For float32 at n = 257 these are about 4e-4 relative (GEMM/SYRK bounds are per element and much tighter).
/// </remarks>
public class NativeParityTests
{
    private static readonly int[] Sizes = [.. Enumerable.Range(0, 18), 31, 32, 33, 64, 127];
    private static readonly int[] Pitches = [0, 1, 7];
    private static readonly (double Alpha, double Beta)[] Scales = [(1, 0), (0.5, -1.5), (-2, 1), (1.25, 0)];
    private static readonly ManagedBackend Managed = new();

    public static TheoryData<string, string> ProvidersAndTypes => new()
    {
        { "openblas", "double" },
        { "openblas", "float" },
        { "mkl", "double" },
        { "mkl", "float" },
    };

    // ───────────────────────────── GEMM ─────────────────────────────

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void Gemm_AllTransposes_MatchesManagedAndOracle(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        if (type == "double")
        {
            GemmSuite<double>(native);
        }
        else
        {
            GemmSuite<float>(native);
        }
    }

    private static void GemmSuite<T>(CurvatureBackend native)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(101);
        int caseIndex = 0;
        foreach (int s in Sizes)
        {
            foreach (int pitch in Pitches)
            {
                (int M, int N, int K)[] shapes = s >= 64 ? [(s, 7 + pitch, 17)] : [(s, s, s), (s, ((s * 3) + pitch) % 19, ((s * 5) + (pitch * 2)) % 23)];
                foreach (var (m, n, k) in shapes)
                {
                    foreach (bool ta in new[] { false, true })
                    {
                        foreach (bool tb in new[] { false, true })
                        {
                            var (alpha, beta) = Scales[caseIndex++ % Scales.Length];
                            GemmCase<T>(native, m, n, k, ta, tb, pitch, alpha, beta, rng);
                        }
                    }
                }
            }
        }

        GemmCase<T>(native, 257, 33, 64, false, true, 1, 0.5, -1.5, rng);
        GemmCase<T>(native, 31, 257, 257, true, false, 1, 1, 0, rng);
    }

    private static void GemmCase<T>(CurvatureBackend native, int m, int n, int k, bool ta, bool tb, int pitch, double alpha, double beta, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string label = $"{native.Name} {typeof(T).Name} gemm m={m} n={n} k={k} ta={ta} tb={tb} pitch={pitch} α={alpha} β={beta}";
        var a = new PaddedMatrix<T>(ta ? k : m, ta ? m : k, pitch).FillRandom(rng);
        var b = new PaddedMatrix<T>(tb ? n : k, tb ? k : n, pitch).FillRandom(rng);
        var c0 = new PaddedMatrix<T>(m, n, pitch);
        if (beta != 0)
        {
            c0.FillRandom(rng); // with β = 0, C keeps its NaN sentinels: they must not propagate
        }

        var cn = c0.Clone();
        var cm = c0.Clone();
        var opA = ta ? Transpose.Transpose : Transpose.None;
        var opB = tb ? Transpose.Transpose : Transpose.None;
        native.MatrixMultiply(a.ReadOnly, opA, b.ReadOnly, opB, cn.Span, T.CreateTruncating(alpha), T.CreateTruncating(beta));
        Managed.MatrixMultiply(a.ReadOnly, opA, b.ReadOnly, opB, cm.Span, T.CreateTruncating(alpha), T.CreateTruncating(beta));
        cn.AssertPaddingUntouched(label);
        cm.AssertPaddingUntouched(label);

        double gamma = 4 * (k + 2) * DenseOracle.UnitRoundoff<T>();
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = ta ? a.At(p, i) : a.At(i, p);
                    double y = tb ? b.At(j, p) : b.At(p, j);
                    sum += x * y;
                    magnitude += Math.Abs(x * y);
                }

                double exact = (alpha * sum) + (beta != 0 ? beta * c0.At(i, j) : 0);
                double tol = gamma * ((Math.Abs(alpha) * magnitude) + (beta != 0 ? Math.Abs(beta * c0.At(i, j)) : 0));
                AssertClose(cn.At(i, j), exact, tol, label, i, j);
                AssertClose(cm.At(i, j), exact, tol, label + " (managed)", i, j);
                AssertClose(cn.At(i, j), cm.At(i, j), 2 * tol, label + " (native vs managed)", i, j);
            }
        }
    }

    // ───────────────────────────── SYRK ─────────────────────────────

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void Syrk_BothFormsBothTriangles_MatchesManagedAndOracle(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        if (type == "double")
        {
            SyrkSuite<double>(native);
        }
        else
        {
            SyrkSuite<float>(native);
        }
    }

    private static void SyrkSuite<T>(CurvatureBackend native)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(202);
        int caseIndex = 0;
        foreach (int n in Sizes)
        {
            foreach (int pitch in Pitches)
            {
                foreach (var form in new[] { RankKForm.TransposeTimesMatrix, RankKForm.MatrixTimesTranspose })
                {
                    foreach (bool lower in new[] { true, false })
                    {
                        int k = ((n * 3) + pitch + caseIndex) % 21; // includes k = 0
                        var (alpha, beta) = Scales[caseIndex++ % Scales.Length];
                        SyrkCase<T>(native, n, k, form, lower, pitch, alpha, beta, rng);
                    }
                }
            }
        }

        SyrkCase<T>(native, 257, 40, RankKForm.TransposeTimesMatrix, true, 1, 1, 0, rng);
        SyrkCase<T>(native, 257, 33, RankKForm.MatrixTimesTranspose, false, 1, 0.5, -1.5, rng);
    }

    private static void SyrkCase<T>(CurvatureBackend native, int n, int k, RankKForm form, bool lower, int pitch, double alpha, double beta, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string label = $"{native.Name} {typeof(T).Name} syrk n={n} k={k} {form} lower={lower} pitch={pitch} α={alpha} β={beta}";
        bool ata = form == RankKForm.TransposeTimesMatrix;
        var a = new PaddedMatrix<T>(ata ? k : n, ata ? n : k, pitch).FillRandom(rng);
        var c0 = new PaddedMatrix<T>(n, n, pitch);
        if (beta != 0)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    if (lower ? j <= i : j >= i)
                    {
                        c0[i, j] = T.CreateTruncating((rng.NextDouble() * 2) - 1);
                    }
                }
            }
        }

        var cn = c0.Clone();
        var cm = c0.Clone();
        var triangle = lower ? Triangle.Lower : Triangle.Upper;
        native.SymmetricRankKUpdate(a.ReadOnly, form, cn.Span, triangle, T.CreateTruncating(alpha), T.CreateTruncating(beta));
        Managed.SymmetricRankKUpdate(a.ReadOnly, form, cm.Span, triangle, T.CreateTruncating(alpha), T.CreateTruncating(beta));
        foreach (var c in new[] { cn, cm })
        {
            c.AssertPaddingUntouched(label);
            c.AssertOtherTriangleUntouched(lower, label);
        }

        double gamma = 4 * (k + 2) * DenseOracle.UnitRoundoff<T>();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (!(lower ? j <= i : j >= i))
                {
                    continue;
                }

                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = ata ? a.At(p, i) * a.At(p, j) : a.At(i, p) * a.At(j, p);
                    sum += x;
                    magnitude += Math.Abs(x);
                }

                double exact = (alpha * sum) + (beta != 0 ? beta * c0.At(i, j) : 0);
                double tol = gamma * ((Math.Abs(alpha) * magnitude) + (beta != 0 ? Math.Abs(beta * c0.At(i, j)) : 0));
                AssertClose(cn.At(i, j), exact, tol, label, i, j);
                AssertClose(cm.At(i, j), exact, tol, label + " (managed)", i, j);
                AssertClose(cn.At(i, j), cm.At(i, j), 2 * tol, label + " (native vs managed)", i, j);
            }
        }
    }

    // ───────────────────────────── Cholesky ─────────────────────────────

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void CholeskyFactorInverseSolve_MatchManagedAndOracle(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        if (type == "double")
        {
            CholeskySuite<double>(native);
        }
        else
        {
            CholeskySuite<float>(native);
        }
    }

    private static void CholeskySuite<T>(CurvatureBackend native)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(303);
        int caseIndex = 0;
        foreach (int n in Sizes)
        {
            foreach (int pitch in Pitches)
            {
                foreach (bool lower in new[] { true, false })
                {
                    if (n >= 64 && pitch != 1)
                    {
                        continue; // big sizes once per triangle: the dense checks are O(n³)
                    }

                    int nrhs = ((n * 2) + pitch + caseIndex++) % 9; // includes an empty right-hand side
                    CholeskyCase<T>(native, n, lower, pitch, nrhs, rng);
                }
            }
        }

        CholeskyCase<T>(native, 257, typeof(T) == typeof(double), 7, 3, rng);
    }

    private static void CholeskyCase<T>(CurvatureBackend native, int n, bool lower, int pitch, int nrhs, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string label = $"{native.Name} {typeof(T).Name} n={n} lower={lower} pitch={pitch}";
        var triangle = lower ? Triangle.Lower : Triangle.Upper;
        double[,] a = DenseOracle.WellConditionedSpd<T>(n, rng);
        double tolUnit = 64 * (n + 2) * DenseOracle.UnitRoundoff<T>();

        // ?POTRF
        var fn = new PaddedMatrix<T>(n, n, pitch).SetTriangle(a, lower);
        var fm = fn.Clone();
        Assert.Equal(0, native.TryCholeskyFactor(fn.Span, triangle).Info);
        Assert.Equal(0, Managed.TryCholeskyFactor(fm.Span, triangle).Info);
        double factorScale = Math.Sqrt(n + 1.5);
        foreach (var f in new[] { fn, fm })
        {
            string which = label + (f == fn ? " potrf" : " potrf (managed)");
            f.AssertPaddingUntouched(which);
            f.AssertOtherTriangleUntouched(lower, which);

            // L·Lᵀ = A (L(i, j) is stored at (i, j) for lower, at (j, i) for upper).
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j <= i; j++)
                {
                    double s = 0;
                    for (int p = 0; p <= j; p++)
                    {
                        s += L(f, lower, i, p) * L(f, lower, j, p);
                    }

                    AssertClose(s, a[i, j], tolUnit * (n + 1.5), which + " L·Lᵀ", i, j);
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                AssertClose(L(fn, lower, i, j), L(fm, lower, i, j), tolUnit * factorScale, label + " potrf native vs managed", i, j);
            }
        }

        // CholeskySolve (two ?TRSM), reading only the factor's triangle (the other one holds NaN).
        var b = new PaddedMatrix<T>(n, nrhs, pitch).FillRandom(rng);
        var xn = b.Clone();
        var xm = b.Clone();
        native.CholeskySolve(fn.ReadOnly, triangle, xn.Span);
        Managed.CholeskySolve(fm.ReadOnly, triangle, xm.Span);
        fn.AssertOtherTriangleUntouched(lower, label + " solve (factor)");
        for (int c = 0; c < nrhs; c++)
        {
            for (int i = 0; i < n; i++)
            {
                double rn = -b.At(i, c), rm = -b.At(i, c), scale = 0;
                for (int p = 0; p < n; p++)
                {
                    rn += a[i, p] * xn.At(p, c);
                    rm += a[i, p] * xm.At(p, c);
                    scale += Math.Abs(a[i, p] * xm.At(p, c));
                }

                AssertClose(rn, 0, tolUnit * (scale + 1), label + " solve residual", i, c);
                AssertClose(rm, 0, tolUnit * (scale + 1), label + " solve residual (managed)", i, c);
                AssertClose(xn.At(i, c), xm.At(i, c), tolUnit, label + " solve native vs managed", i, c);
            }
        }

        xn.AssertPaddingUntouched(label + " solve");
        xm.AssertPaddingUntouched(label + " solve (managed)");

        // ?POTRI, full symmetric result.
        Assert.Equal(0, native.TryCholeskyInverse(fn.Span, triangle).Info);
        Assert.Equal(0, Managed.TryCholeskyInverse(fm.Span, triangle).Info);
        fn.AssertPaddingUntouched(label + " potri");
        fm.AssertPaddingUntouched(label + " potri (managed)");
        double inverseScale = 1.0 / ((0.5 * n) + 1.5); // ‖A⁻¹‖ bound from the Gershgorin interval
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j += ColumnStep(n))
            {
                double s = i == j ? -1 : 0, sm = s;
                for (int p = 0; p < n; p++)
                {
                    s += a[i, p] * fn.At(p, j);
                    sm += a[i, p] * fm.At(p, j);
                }

                AssertClose(s, 0, tolUnit * 3, label + " A·A⁻¹ − I", i, j);
                AssertClose(sm, 0, tolUnit * 3, label + " A·A⁻¹ − I (managed)", i, j);
            }

            for (int j = 0; j < n; j++)
            {
                AssertClose(fn.At(i, j), fm.At(i, j), tolUnit * inverseScale, label + " potri native vs managed", i, j);
            }
        }
    }

    private static double L<T>(PaddedMatrix<T> f, bool lower, int i, int j)
        where T : unmanaged, IFloatingPointIeee754<T> => lower ? f.At(i, j) : f.At(j, i);

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void NotPositiveDefinite_GivesTheSameInfoOnEveryBackend(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        if (type == "double")
        {
            NotPositiveDefiniteSuite<double>(native);
        }
        else
        {
            NotPositiveDefiniteSuite<float>(native);
        }
    }

    private static void NotPositiveDefiniteSuite<T>(CurvatureBackend native)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(404);
        foreach (int n in new[] { 1, 2, 3, 5, 8, 13, 17, 33, 64, 127 })
        {
            foreach (bool lower in new[] { true, false })
            {
                var triangle = lower ? Triangle.Lower : Triangle.Upper;
                double[,] a = DenseOracle.WellConditionedSpd<T>(n, rng);
                int failing = n / 2; // 0-based; the leading minor of order failing + 1 is the first non-PD one
                a[failing, failing] = -1;
                var pn = new PaddedMatrix<T>(n, n, 1).SetTriangle(a, lower);
                var pm = pn.Clone();
                var sn = native.TryCholeskyFactor(pn.Span, triangle);
                var sm = Managed.TryCholeskyFactor(pm.Span, triangle);
                Assert.Equal(failing + 1, sm.Info);
                Assert.Equal(sm, sn);
                pn.AssertPaddingUntouched($"{native.Name} non-PD n={n}");
                pn.AssertOtherTriangleUntouched(lower, $"{native.Name} non-PD n={n}");
                Assert.Throws<MatrixNotPositiveDefiniteException>(() => native.CholeskyFactor(new PaddedMatrix<T>(n, n, 0).SetTriangle(a, lower).Span, triangle));

                // ?POTRI on a factor with an exact zero on its diagonal: info = that (1-based) index everywhere.
                var singular = new PaddedMatrix<T>(n, n, 1).SetTriangle(a, lower);
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j <= i; j++)
                    {
                        T v = i == j ? T.One : T.Zero;
                        if (lower)
                        {
                            singular[i, j] = v;
                        }
                        else
                        {
                            singular[j, i] = v;
                        }
                    }
                }

                singular[failing, failing] = T.Zero;
                var singularManaged = singular.Clone();
                Assert.Equal(failing + 1, native.TryCholeskyInverse(singular.Span, triangle).Info);
                Assert.Equal(failing + 1, Managed.TryCholeskyInverse(singularManaged.Span, triangle).Info);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void NonFiniteInput_GivesTheSameInfoAsManaged(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        if (type == "double")
        {
            NonFiniteSuite<double>(native);
        }
        else
        {
            NonFiniteSuite<float>(native);
        }
    }

    private static void NonFiniteSuite<T>(CurvatureBackend native)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(707);
        foreach (int n in new[] { 1, 2, 3, 8, 40, 64 })
        {
            foreach (bool lower in new[] { true, false })
            {
                var triangle = lower ? Triangle.Lower : Triangle.Upper;
                double[,] a = DenseOracle.WellConditionedSpd<T>(n, rng);

                // (row, column) of the factor L; written at (i, j) for lower and at (j, i) for upper.
                var cases = new List<(int I, int J, double Value)> { (n - 1, 0, double.NaN), (n / 2, n / 2, double.NaN) };
                if (n >= 3)
                {
                    cases.Add((n - 1, n / 3, double.PositiveInfinity)); // off-diagonal: +Inf on the diagonal is a valid (infinite) pivot for the managed algorithm
                    cases.Add((n / 2, 0, double.NegativeInfinity));
                }

                foreach (var (i, j, value) in cases)
                {
                    string label = $"{native.Name} {typeof(T).Name} n={n} lower={lower} L({i},{j})={value}";
                    var pn = new PaddedMatrix<T>(n, n, 1).SetTriangle(a, lower);
                    if (lower)
                    {
                        pn[i, j] = T.CreateTruncating(value);
                    }
                    else
                    {
                        pn[j, i] = T.CreateTruncating(value);
                    }

                    var pm = pn.Clone();
                    var en = pn.Clone();
                    var sn = native.TryCholeskyFactor(pn.Span, triangle);
                    var sm = Managed.TryCholeskyFactor(pm.Span, triangle);
                    Assert.True(sm.Info > 0, label + " (managed potrf)");
                    Assert.True(sn == sm, $"{label}: potrf info {sn.Info}, managed {sm.Info}");
                    pn.AssertPaddingUntouched(label);
                    pn.AssertOtherTriangleUntouched(lower, label);

                    if (double.IsNaN(value))
                    {
                        var em = en.Clone();
                        var before = en.Clone();
                        Assert.True(native.TrySymmetricEigen(en.Span, triangle, new T[n]).Info > 0, label + " syevd");
                        Assert.True(Managed.TrySymmetricEigen(em.Span, triangle, new T[n]).Info > 0, label + " syevd (managed)");
                        Assert.Equal(before.Data, en.Data); // rejected before LAPACK: A untouched
                    }
                }
            }
        }
    }

    // ───────────────────────────── Symmetric eigendecomposition ─────────────────────────────

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void SymmetricEigen_SeparatedSpectrum_MatchesManagedAndOracle(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        if (type == "double")
        {
            EigenSuite<double>(native);
        }
        else
        {
            EigenSuite<float>(native);
        }
    }

    private static void EigenSuite<T>(CurvatureBackend native)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(505);
        foreach (int n in Sizes)
        {
            foreach (int pitch in Pitches)
            {
                foreach (bool lower in new[] { true, false })
                {
                    if (n >= 64 && (pitch != 1 || lower != (n == 64)))
                    {
                        continue; // big sizes once each: the managed Jacobi oracle is slow
                    }

                    EigenCase<T>(native, n, lower, pitch, degenerate: false, rng);
                }
            }
        }

        if (typeof(T) == typeof(double))
        {
            EigenCase<T>(native, 257, false, 7, degenerate: false, rng, withManaged: false); // the managed Jacobi oracle is too slow here
        }
    }

    [Theory]
    [MemberData(nameof(ProvidersAndTypes))]
    public void SymmetricEigen_RepeatedEigenvalues_ReconstructsTheMatrix(string provider, string type)
    {
        var native = TestBackends.Get(provider);
        var rng = new Random(606);
        foreach (int n in new[] { 2, 3, 6, 9, 16, 33, 64 })
        {
            foreach (bool lower in new[] { true, false })
            {
                if (type == "double")
                {
                    EigenCase<double>(native, n, lower, 1, degenerate: true, rng);
                }
                else
                {
                    EigenCase<float>(native, n, lower, 1, degenerate: true, rng);
                }
            }
        }
    }

    private static void EigenCase<T>(CurvatureBackend native, int n, bool lower, int pitch, bool degenerate, Random rng, bool withManaged = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string label = $"{native.Name} {typeof(T).Name} syevd n={n} lower={lower} pitch={pitch} degenerate={degenerate}";
        var triangle = lower ? Triangle.Lower : Triangle.Upper;

        // Separated: eigenvalues i − n/2 + ½ (gap 1). Degenerate: each value repeated three times.
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            w[i] = degenerate ? (i / 3) - (n / 6) : i - (n / 2) + 0.5;
        }

        double[,] q = DenseOracle.RandomOrthogonal(n, rng);
        double[,] a = DenseOracle.FromSpectrum<T>(q, w);
        double norm = 1;
        foreach (double x in w)
        {
            norm = Math.Max(norm, Math.Abs(x));
        }

        double tol = 64 * (n + 2) * DenseOracle.UnitRoundoff<T>() * norm;

        var qn = new PaddedMatrix<T>(n, n, pitch).SetTriangle(a, lower);
        var qm = qn.Clone();
        var wn = new T[n];
        var wm = new T[n];
        Assert.Equal(0, native.TrySymmetricEigen(qn.Span, triangle, wn).Info);
        qn.AssertPaddingUntouched(label);
        var results = new List<(PaddedMatrix<T>, T[], string)> { (qn, wn, label) };
        if (withManaged)
        {
            Assert.Equal(0, Managed.TrySymmetricEigen(qm.Span, triangle, wm).Info);
            qm.AssertPaddingUntouched(label + " (managed)");
            results.Add((qm, wm, label + " (managed)"));
        }

        foreach (var (qq, ww, who) in results)
        {
            for (int j = 0; j < n; j++)
            {
                AssertClose(double.CreateTruncating(ww[j]), w[j], tol, who + " eigenvalue", j, j);
            }

            // Reconstruction Q·diag(w)·Qᵀ = A and orthonormal columns.
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j += ColumnStep(n))
                {
                    double s = 0, o = 0;
                    for (int p = 0; p < n; p++)
                    {
                        s += qq.At(i, p) * double.CreateTruncating(ww[p]) * qq.At(j, p);
                        o += qq.At(p, i) * qq.At(p, j);
                    }

                    AssertClose(s, a[i, j], tol, who + " Q·diag(w)·Qᵀ", i, j);
                    AssertClose(o, i == j ? 1 : 0, tol / norm, who + " QᵀQ", i, j);
                }
            }

            // The shared sign rule: in every column the entry of largest magnitude is positive.
            for (int j = 0; j < n; j++)
            {
                int best = 0;
                for (int i = 1; i < n; i++)
                {
                    if (Math.Abs(qq.At(i, j)) > Math.Abs(qq.At(best, j)))
                    {
                        best = i;
                    }
                }

                Assert.True(qq.At(best, j) > 0, $"{who}: column {j} violates the sign rule.");
            }
        }

        if (!degenerate)
        {
            // Unique eigenvectors (gap 1): after the sign rule, native, managed and the oracle Q agree column by column.
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

                double sign = q[best, j] < 0 ? -1 : 1;
                for (int i = 0; i < n; i++)
                {
                    AssertClose(qn.At(i, j), sign * q[i, j], tol, label + " eigenvector vs oracle", i, j);
                    if (withManaged)
                    {
                        AssertClose(qn.At(i, j), qm.At(i, j), tol, label + " eigenvector native vs managed", i, j);
                    }
                }
            }
        }
    }

    // ───────────────────────────── helpers ─────────────────────────────

    /// <summary>The O(n³) dense checks (A·A⁻¹, Q·diag(w)·Qᵀ, QᵀQ) look at every column up to n = 33 and at every
    /// ⌈n/8⌉-th column beyond, to keep the suite fast; element-wise parity is always checked in full.</summary>
    private static int ColumnStep(int n) => n <= 33 ? 1 : (n + 7) / 8;

    private static void AssertClose(double actual, double expected, double tol, string label, int i, int j)
    {
        double err = Math.Abs(actual - expected);
        if (!(err <= tol))
        {
            Assert.Fail($"{label}: ({i}, {j}) = {actual:R}, expected {expected:R} (error {err:E3} > tolerance {tol:E3}).");
        }
    }
}
