using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>With two threads, products large enough to be split still match the oracle (and only the triangle is written).</summary>
public class KernelThreadingTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void TwoThreads_LargeGemmSyrkCholesky_MatchOracle(string backend)
    {
        var b = TestBackends.Get(backend);
        b.SetThreadCount(2);
        try
        {
            // MKL runs sequentially (Debian ships no libiomp5; see native/README.md), so it reports one thread.
            Assert.Equal(b.Kind == BackendKind.Mkl ? 1 : 2, b.ThreadCount);
            var rng = new Random(400);
            GemmTests.Check<double>(b, rng, 401, 397, 410, false, true, 1, 1, 0.5);
            GemmTests.Check<float>(b, rng, 399, 402, 400, true, false, 0, -1, 0);

            const int n = 400;
            var a = new PaddedMatrix<double>(n, n, 3).FillRandom(rng);
            var c = new PaddedMatrix<double>(n, n, 1);
            b.SymmetricRankKUpdate(a.ReadOnly, RankKForm.TransposeTimesMatrix, c.Span, Triangle.Upper, 1.0 / n, 0.0);
            var ata = DenseOracle.Multiply(DenseOracle.Transpose(a.ToDouble()), a.ToDouble());
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    if (j >= i)
                    {
                        Assert.True(Math.Abs(c[i, j] - (ata[i, j] / n)) <= 1e-13, $"C[{i},{j}]");
                    }
                    else
                    {
                        Assert.True(PaddedMatrix<double>.IsSentinel(c[i, j]), $"lower element ({i},{j}) written");
                    }
                }

                c[i, i] += 1; // SPD: AᵀA/n + I
            }

            Assert.Null(c.FindTouchedPadding());
            var spd = c.ToDouble();
            Assert.True(b.TryInvertPositiveDefinite(c.Span, Triangle.Upper).Succeeded);
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    spd[i, j] = spd[j, i];
                }
            }

            double err = DenseOracle.MaxAbsDiff(DenseOracle.Multiply(spd, c.ToDouble()), DenseOracle.Identity(n));
            Assert.True(err < 1e-10, $"‖AX − I‖ = {err}");
        }
        finally
        {
            b.SetThreadCount(1);
        }
    }
}
