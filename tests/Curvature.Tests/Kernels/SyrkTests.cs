using System.Numerics;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// SYRK against a float64 oracle on every backend: both forms, both triangles, pitches, α/β (incl. β = 0 with NaN in
/// the written triangle). The other triangle and the row padding hold NaN sentinels that must stay bit for bit.
/// Tolerance as for GEMM: 4·(k + 2)·u·(|α|·(|A||A|)ᵢⱼ + |β·Cᵢⱼ|).
/// </summary>
public class SyrkTests
{
    private static readonly (double Alpha, double Beta)[] Scalars = [(1, 0), (-1, 1), (0.5, 0.95), (2, 0), (0, -1)];

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Double_AllShapesFormsTriangles(string backend) => RunSweep<double>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Float_AllShapesFormsTriangles(string backend) => RunSweep<float>(TestBackends.Get(backend));

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Large_257(string backend)
    {
        var b = TestBackends.Get(backend);
        var rng = new Random(3);
        Check<double>(b, rng, 257, 300, RankKForm.TransposeTimesMatrix, Triangle.Lower, 7, 0.05, 0.95);
        Check<float>(b, rng, 257, 100, RankKForm.MatrixTimesTranspose, Triangle.Upper, 1, 1, 0);
    }

    private static void RunSweep<T>(CurvatureBackend backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(typeof(T) == typeof(double) ? 21 : 22);
        int caseNo = 0;
        foreach (int n in KernelSizes.All)
        {
            foreach (int k in new[] { n, (n * 5 + 3) % 21, 0 })
            {
                foreach (var form in new[] { RankKForm.TransposeTimesMatrix, RankKForm.MatrixTimesTranspose })
                {
                    foreach (var tri in new[] { Triangle.Lower, Triangle.Upper })
                    {
                        var (alpha, beta) = Scalars[caseNo % Scalars.Length];
                        Check<T>(backend, rng, n, k, form, tri, KernelSizes.Pitches[caseNo % 3], alpha, beta);
                        caseNo++;
                    }
                }
            }
        }
    }

    private static void Check<T>(CurvatureBackend backend, Random rng, int n, int k, RankKForm form, Triangle tri, int pitch, double alpha, double beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool tt = form == RankKForm.TransposeTimesMatrix;
        var a = tt ? new PaddedMatrix<T>(k, n, (pitch + 3) % 8) : new PaddedMatrix<T>(n, k, (pitch + 3) % 8);
        a.FillRandom(rng);
        var c = new PaddedMatrix<T>(n, n, pitch);
        bool lower = tri == Triangle.Lower;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (lower ? j <= i : j >= i)
                {
                    c[i, j] = beta == 0 ? T.NaN : T.CreateChecked((rng.NextDouble() * 2) - 1);
                }
            }
        }

        var c0 = c.ToDouble();
        var opA = tt ? DenseOracle.Transpose(a.ToDouble()) : a.ToDouble(); // n × k
        var exact = DenseOracle.Multiply(opA, DenseOracle.Transpose(opA));
        var mag = DenseOracle.AbsMultiply(opA, DenseOracle.Transpose(opA));

        backend.SymmetricRankKUpdate(a.ReadOnly, form, c.Span, tri, T.CreateChecked(alpha), T.CreateChecked(beta));

        double u = DenseOracle.UnitRoundoff<T>();
        string what = $"{typeof(T).Name} n={n} k={k} {form} {tri} pitch={pitch} alpha={alpha} beta={beta}";
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (lower ? j <= i : j >= i)
                {
                    double old = beta == 0 ? 0 : c0[i, j];
                    double want = (alpha * exact[i, j]) + (beta * old);
                    double tol = (4 * (k + 2) * u * ((Math.Abs(alpha) * mag[i, j]) + Math.Abs(beta * old))) + 1e-300;
                    double got = double.CreateChecked(c[i, j]);
                    if (!(Math.Abs(got - want) <= tol))
                    {
                        Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {want} (tolerance {tol:G3})");
                    }
                }
                else if (!PaddedMatrix<T>.IsSentinel(c[i, j]))
                {
                    Assert.Fail($"{what}: element ({i},{j}) outside the triangle was written");
                }
            }
        }

        Assert.True(c.FindTouchedPadding() is null, $"{what}: {c.FindTouchedPadding()}");
    }
}
