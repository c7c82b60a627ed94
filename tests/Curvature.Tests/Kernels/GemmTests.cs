using System.Numerics;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// GEMM against a float64 oracle on every backend. Elementwise bound: |C − C*| ≤ 4·(k + 2)·u·(|α|·(|A||B|)ᵢⱼ + |β|·|Cᵢⱼ|),
/// the classical dot-product error bound with u = 2⁻⁵³ (double) or 2⁻²⁴ (float), plus a margin for the final
/// α/β update.
/// </summary>
public class GemmTests
{
    private static readonly (double Alpha, double Beta)[] Scalars = [(1, 0), (-0.5, 0), (1.5, -0.75), (2, 1), (0, 0.5)];

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Double_AllShapesTransposesPitches(string backend) => RunSweep<double>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Float_AllShapesTransposesPitches(string backend) => RunSweep<float>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Large_257_BothTypes(string backend)
    {
        var b = TestBackends.Get(backend);
        var rng = new Random(257);
        Check<double>(b, rng, 257, 255, 259, true, false, 7, 1.25, 0.5);
        Check<float>(b, rng, 259, 257, 130, false, true, 1, 1, 0);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void WideAndDeep_CrossEveryBlockBoundary(string backend)
    {
        // n beyond the managed NC panel width (2048 double / 4096 float), k beyond KC (256).
        var b = TestBackends.Get(backend);
        var rng = new Random(2100);
        Check<double>(b, rng, 7, 2101, 300, true, false, 1, 1, 0.5);
        Check<double>(b, rng, 13, 2050, 520, false, true, 0, -1, 0);
        Check<float>(b, rng, 5, 4105, 261, false, false, 7, 0.5, 1);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void BetaZero_NaNInCIsNotRead(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (int n in new[] { 1, 5, 8, 13, 64 })
        {
            var a = new PaddedMatrix<double>(n, n, 0).FillRandom(new Random(n));
            var bb = new PaddedMatrix<double>(n, n, 0).FillRandom(new Random(n + 1));
            var c = new PaddedMatrix<double>(n, n, 1); // all NaN sentinels
            for (int i = 0; i < n; i++)
            {
                c[i, 0] = double.NaN;
            }

            b.MatrixMultiply(a.ReadOnly, Transpose.None, bb.ReadOnly, Transpose.None, c.Span, 1.0, 0.0);
            foreach (var v in c.ToDouble())
            {
                Assert.True(double.IsFinite(v), $"n = {n}: NaN in C propagated with beta = 0");
            }

            Assert.Null(c.FindTouchedPadding());
        }
    }

    private static void RunSweep<T>(CurvatureBackend backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(typeof(T) == typeof(double) ? 11 : 12);
        int caseNo = 0;
        foreach (int s in KernelSizes.All)
        {
            // Three shapes per size: square, and two skewed ones so m, n, k vary independently.
            var shapes = new[] { (s, s, s), (s, (s * 7 + 3) % 19, (s * 5 + 1) % 23), ((s * 3 + 2) % 17, s, (s * 11) % 20) };
            foreach (var (m, n, k) in shapes)
            {
                foreach (bool ta in new[] { false, true })
                {
                    foreach (bool tb in new[] { false, true })
                    {
                        int pitch = KernelSizes.Pitches[caseNo % 3];
                        var (alpha, beta) = Scalars[caseNo % Scalars.Length];
                        caseNo++;
                        Check<T>(backend, rng, m, n, k, ta, tb, pitch, alpha, beta);
                    }
                }
            }
        }
    }

    internal static void Check<T>(CurvatureBackend backend, Random rng, int m, int n, int k, bool ta, bool tb, int pitch, double alpha, double beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = ta ? new PaddedMatrix<T>(k, m, pitch) : new PaddedMatrix<T>(m, k, pitch);
        var b = tb ? new PaddedMatrix<T>(n, k, (pitch + 1) % 8) : new PaddedMatrix<T>(k, n, (pitch + 1) % 8);
        var c = new PaddedMatrix<T>(m, n, pitch);
        a.FillRandom(rng);
        b.FillRandom(rng);
        if (beta != 0)
        {
            c.FillRandom(rng);
        }

        var c0 = c.ToDouble();
        var opA = ta ? DenseOracle.Transpose(a.ToDouble()) : a.ToDouble();
        var opB = tb ? DenseOracle.Transpose(b.ToDouble()) : b.ToDouble();
        var exact = DenseOracle.Multiply(opA, opB);
        var mag = DenseOracle.AbsMultiply(opA, opB);

        backend.MatrixMultiply(a.ReadOnly, ta ? Transpose.Transpose : Transpose.None, b.ReadOnly, tb ? Transpose.Transpose : Transpose.None,
            c.Span, T.CreateChecked(alpha), T.CreateChecked(beta));

        double u = DenseOracle.UnitRoundoff<T>();
        string what = $"{typeof(T).Name} m={m} n={n} k={k} ta={ta} tb={tb} pitch={pitch} alpha={alpha} beta={beta}";
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double want = (alpha * exact[i, j]) + (beta == 0 ? 0 : beta * c0[i, j]);
                double scale = (Math.Abs(alpha) * mag[i, j]) + Math.Abs(beta * (beta == 0 ? 0 : c0[i, j]));
                double got = double.CreateChecked(c[i, j]);
                double tol = (4 * (k + 2) * u * scale) + 1e-300;
                if (!(Math.Abs(got - want) <= tol))
                {
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {want} (tolerance {tol:G3})");
                }
            }
        }

        Assert.True(c.FindTouchedPadding() is null, $"{what}: {c.FindTouchedPadding()}");
    }
}
