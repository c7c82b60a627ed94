using System.Numerics;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Native;

/// <summary>
/// The faster routine variants the native backend picks for some providers and sizes (MKL double: a lower-triangle
/// SYRK computed by the upper SYRK in scratch, from n = 384 and k = 128) keep the contract: the requested triangle
/// within the SYRK error bound of a float64 oracle, the other triangle and the row padding untouched (NaN sentinels),
/// β = 0 not reading C. The sizes here are above the switch; the parity suite covers the sizes below it.
/// </summary>
public class NativeVariantTests
{
    [Theory]
    [InlineData("mkl")]
    [InlineData("openblas")]
    public void SyrkLower_LargeOrders_KeepsTheContract(string provider)
    {
        var backend = TestBackends.Get(provider);
        var rng = new Random(5);
        foreach (var (n, k, form, alpha, beta) in new[]
        {
            (400, 130, RankKForm.TransposeTimesMatrix, 1.0, 0.0),
            (400, 130, RankKForm.TransposeTimesMatrix, 0.5, -1.5),
            (387, 200, RankKForm.MatrixTimesTranspose, -2.0, 1.0),
            (450, 140, RankKForm.TransposeTimesMatrix, 1.25, 0.75),
        })
        {
            Check<double>(backend, n, k, form, alpha, beta, rng);
            Check<float>(backend, n, k, form, alpha, beta, rng);
        }
    }

    private static void Check<T>(CurvatureBackend backend, int n, int k, RankKForm form, double alpha, double beta, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool transposed = form == RankKForm.TransposeTimesMatrix;
        string label = $"{backend.Name} {typeof(T).Name} syrk n={n} k={k} {form} α={alpha} β={beta}";
        var a = new TestKit.PaddedMatrix<T>(transposed ? k : n, transposed ? n : k, 3).FillRandom(rng);
        var c = new TestKit.PaddedMatrix<T>(n, n, 5);
        if (beta != 0)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j <= i; j++)
                {
                    c[i, j] = T.CreateChecked(rng.NextDouble() - 0.5); // upper triangle keeps its NaN sentinels
                }
            }
        }

        var c0 = c.ToDouble();
        backend.SymmetricRankKUpdate(a.ReadOnly, form, c.Span, Triangle.Lower, T.CreateTruncating(alpha), T.CreateTruncating(beta));
        Assert.Null(c.FindTouchedPadding());
        double gamma = 4 * (k + 2) * DenseOracle.UnitRoundoff<T>();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (j > i)
                {
                    Assert.True(TestKit.PaddedMatrix<T>.IsSentinel(c[i, j]), $"{label}: upper element ({i}, {j}) was written");
                    continue;
                }

                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = double.CreateChecked(transposed ? a[p, i] : a[i, p]);
                    double y = double.CreateChecked(transposed ? a[p, j] : a[j, p]);
                    sum += x * y;
                    magnitude += Math.Abs(x * y);
                }

                double expected = (alpha * sum) + (beta == 0 ? 0 : beta * c0[i, j]);
                double bound = gamma * ((Math.Abs(alpha) * magnitude) + (beta == 0 ? 0 : Math.Abs(beta * c0[i, j])));
                double actual = double.CreateChecked(c[i, j]);
                if (!(Math.Abs(actual - expected) <= bound))
                {
                    Assert.Fail($"{label}: C[{i}, {j}] = {actual}, expected {expected} ± {bound}");
                }
            }
        }
    }
}
