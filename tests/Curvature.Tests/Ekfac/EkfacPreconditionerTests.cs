using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Ekfac;

public class EkfacPreconditionerTests
{
    private static readonly LayerSpec[] Layers = [LayerSpec.Linear("0", 5, 4), LayerSpec.Linear("1", 4, 3, bias: false)];

    private static double[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2) - 1)];

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Updates_FollowTheDenseAlgorithm(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var options = new EkfacPreconditionerOptions { MaxBatchSize = 8, EigenbasisPeriod = 3, FactorDecay = 0.9, ScalingDecay = 0.7, Damping = 1e-2 };
        var pre = new EkfacPreconditioner<double>(backend, Layers, options);
        var rng = new Random(3);
        for (int li = 0; li < Layers.Length; li++)
        {
            var layer = Layers[li];
            int d1 = layer.OutputSize, d2 = layer.WeightInputSize + (layer.HasBias ? 1 : 0);
            var a = new double[d2, d2];
            var g = new double[d1, d1];
            var s = new double[d1, d2];
            double[,]? qa = null, qg = null;
            for (int step = 0; step < 7; step++)
            {
                int n = 6 + (step % 3);
                var x = Random(rng, n * layer.WeightInputSize);
                var y = Random(rng, n * d1);
                pre.Update(li, new ReadOnlySpan2D<double>(x, n, layer.WeightInputSize), new ReadOnlySpan2D<double>(y, n, d1));

                // Oracle: running factors.
                double beta = step == 0 ? 0 : options.FactorDecay;
                double Xf(int r, int c) => c < layer.WeightInputSize ? x[(r * layer.WeightInputSize) + c] : 1.0;
                for (int i = 0; i < d2; i++)
                {
                    for (int j = 0; j < d2; j++)
                    {
                        double sum = 0;
                        for (int r = 0; r < n; r++)
                        {
                            sum += Xf(r, i) * Xf(r, j);
                        }

                        a[i, j] = (beta * a[i, j]) + ((1 - beta) * sum / n);
                    }
                }

                for (int i = 0; i < d1; i++)
                {
                    for (int j = 0; j < d1; j++)
                    {
                        double sum = 0;
                        for (int r = 0; r < n; r++)
                        {
                            sum += y[(r * d1) + i] * y[(r * d1) + j];
                        }

                        g[i, j] = (beta * g[i, j]) + ((1 - beta) * sum / n);
                    }
                }

                AssertClose(a, pre.InputCovariance(li), 1e-13);
                AssertClose(g, pre.GradientCovariance(li), 1e-13);

                // Eigenbasis: refreshed every 3 steps from the running factors, fixed in between.
                bool refresh = step % 3 == 0;
                var qaNow = ToArray(pre.InputEigenvectors(li));
                var qgNow = ToArray(pre.GradientEigenvectors(li));
                if (refresh)
                {
                    AssertDiagonalizes(qaNow, a);
                    AssertDiagonalizes(qgNow, g);
                }
                else
                {
                    Assert.Equal(qa!, qaNow);
                    Assert.Equal(qg!, qgNow);
                }

                qa = qaNow;
                qg = qgNow;

                // Scalings: running average of (Q_Gᵀ g_n x_nᵀ Q_A)∘2, restarted at a refresh.
                double alpha = refresh ? 0 : options.ScalingDecay;
                for (int i = 0; i < d1; i++)
                {
                    for (int j = 0; j < d2; j++)
                    {
                        double sum = 0;
                        for (int r = 0; r < n; r++)
                        {
                            double gi = 0, xj = 0;
                            for (int o = 0; o < d1; o++)
                            {
                                gi += qg[o, i] * y[(r * d1) + o];
                            }

                            for (int c = 0; c < d2; c++)
                            {
                                xj += qa[c, j] * Xf(r, c);
                            }

                            sum += gi * gi * xj * xj;
                        }

                        s[i, j] = (alpha * s[i, j]) + ((1 - alpha) * sum / n);
                    }
                }

                AssertClose(s, pre.Scalings(li), 1e-12);
            }

            // Preconditioned step: Q_G ((Q_Gᵀ ∇ Q_A) / (s + ε)) Q_Aᵀ.
            var grad = Random(rng, d1 * d2);
            var step2 = new double[d1 * d2];
            pre.Apply(li, new ReadOnlySpan2D<double>(grad, d1, d2), new Span2D<double>(step2, d1, d2));
            var expected = new double[d1, d2];
            for (int p = 0; p < d1; p++)
            {
                for (int q = 0; q < d2; q++)
                {
                    double total = 0;
                    for (int i = 0; i < d1; i++)
                    {
                        for (int j = 0; j < d2; j++)
                        {
                            double c = 0;
                            for (int o = 0; o < d1; o++)
                            {
                                for (int t = 0; t < d2; t++)
                                {
                                    c += qg![o, i] * grad[(o * d2) + t] * qa![t, j];
                                }
                            }

                            total += qg![p, i] * (c / (s[i, j] + options.Damping)) * qa![q, j];
                        }
                    }

                    expected[p, q] = total;
                }
            }

            AssertClose(expected, new ReadOnlySpan2D<double>(step2, d1, d2), 1e-12);
        }
    }

    [Fact]
    public void SteadyStateUpdateAndApply_AllocateNothing()
    {
        var backend = TestBackends.Get("managed");
        var pre = new EkfacPreconditioner<double>(backend, Layers, new EkfacPreconditionerOptions { MaxBatchSize = 16, EigenbasisPeriod = 1000 });
        var rng = new Random(1);
        var x = Random(rng, 16 * 5);
        var y = Random(rng, 16 * 4);
        var grad = Random(rng, 4 * 6);
        var dst = new double[4 * 6];
        void Step(int n)
        {
            pre.Update(0, new ReadOnlySpan2D<double>(x, 0, n, 5, 0), new ReadOnlySpan2D<double>(y, 0, n, 4, 0));
            pre.Apply(0, new ReadOnlySpan2D<double>(grad, 4, 6), new Span2D<double>(dst, 4, 6));
        }

        Step(16); // eigenbasis computed here
        Step(16);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            Step(8 + (i % 8));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(12, pre.UpdateCount(0));
    }

    [Fact]
    public void RejectedInputs_LeaveStateUntouched()
    {
        var backend = TestBackends.Get("managed");
        var pre = new EkfacPreconditioner<double>(backend, Layers, new EkfacPreconditionerOptions { MaxBatchSize = 4, EigenbasisPeriod = 2 });
        var grad = new double[4 * 6];
        Assert.Throws<InvalidOperationException>(() => pre.Apply(0, new ReadOnlySpan2D<double>(grad, 4, 6), new Span2D<double>(new double[24], 4, 6)));
        var rng = new Random(2);
        var x = Random(rng, 4 * 5);
        var y = Random(rng, 4 * 4);
        pre.Update(0, new ReadOnlySpan2D<double>(x, 4, 5), new ReadOnlySpan2D<double>(y, 4, 4));
        var a = ToArray(pre.InputCovariance(0));
        var s = ToArray(pre.Scalings(0));
        var q = ToArray(pre.InputEigenvectors(0));
        y[1] = double.NaN;
        Assert.Throws<ArgumentException>(() => pre.Update(0, new ReadOnlySpan2D<double>(x, 4, 5), new ReadOnlySpan2D<double>(y, 4, 4)));
        Assert.Throws<ArgumentException>(() => pre.Update(0, new ReadOnlySpan2D<double>(Random(rng, 25), 5, 5), new ReadOnlySpan2D<double>(Random(rng, 20), 5, 4)));
        Assert.Throws<ArgumentException>(() => pre.Update(0, new ReadOnlySpan2D<double>(x, 4, 5), new ReadOnlySpan2D<double>(Random(rng, 12), 4, 3)));
        Assert.Equal(a, ToArray(pre.InputCovariance(0)));
        Assert.Equal(s, ToArray(pre.Scalings(0)));
        Assert.Equal(q, ToArray(pre.InputEigenvectors(0)));
        Assert.Equal(1, pre.UpdateCount(0));
        Assert.Throws<NotSupportedException>(() => new EkfacPreconditioner<double>(backend, [LayerSpec.Conv2d("c", new Curvature.Layers.Conv2dGeometry(1, 1, 2, 2, 1, 1, 0, 0, 1, 1, 1))], new EkfacPreconditionerOptions { MaxBatchSize = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EkfacPreconditioner<double>(backend, Layers, new EkfacPreconditionerOptions { MaxBatchSize = 1, Damping = 0 }));
    }

    [Fact]
    public void Float_TracksDouble()
    {
        var backend = TestBackends.Get("managed");
        var options = new EkfacPreconditionerOptions { MaxBatchSize = 8, EigenbasisPeriod = 2 };
        var pd = new EkfacPreconditioner<double>(backend, Layers, options);
        var pf = new EkfacPreconditioner<float>(backend, Layers, options);
        var rng = new Random(4);
        for (int step = 0; step < 3; step++)
        {
            var x = Random(rng, 8 * 5);
            var y = Random(rng, 8 * 4);
            pd.Update(0, new ReadOnlySpan2D<double>(x, 8, 5), new ReadOnlySpan2D<double>(y, 8, 4));
            pf.Update(0, new ReadOnlySpan2D<float>(x.Select(v => (float)v).ToArray(), 8, 5), new ReadOnlySpan2D<float>(y.Select(v => (float)v).ToArray(), 8, 4));
        }

        var grad = Random(rng, 24);
        var rd = new double[24];
        var rf = new float[24];
        pd.Apply(0, new ReadOnlySpan2D<double>(grad, 4, 6), new Span2D<double>(rd, 4, 6));
        pf.Apply(0, new ReadOnlySpan2D<float>(grad.Select(v => (float)v).ToArray(), 4, 6), new Span2D<float>(rf, 4, 6));
        double max = rd.Max(Math.Abs);
        for (int i = 0; i < 24; i++)
        {
            Assert.True(Math.Abs(rd[i] - rf[i]) <= 1e-3 * max, $"{i}: {rd[i]} vs {rf[i]}");
        }
    }

    private static double[,] ToArray(ReadOnlySpan2D<double> m)
    {
        var r = new double[m.Height, m.Width];
        for (int i = 0; i < m.Height; i++)
        {
            for (int j = 0; j < m.Width; j++)
            {
                r[i, j] = m[i, j];
            }
        }

        return r;
    }

    private static void AssertClose(double[,] expected, ReadOnlySpan2D<double> actual, double relative)
    {
        double max = expected.Cast<double>().Max(Math.Abs);
        for (int i = 0; i < expected.GetLength(0); i++)
        {
            for (int j = 0; j < expected.GetLength(1); j++)
            {
                Assert.True(Math.Abs(expected[i, j] - actual[i, j]) <= relative * max, $"[{i},{j}]: {expected[i, j]} vs {actual[i, j]}");
            }
        }
    }

    /// <summary>Q orthonormal and Qᵀ M Q diagonal.</summary>
    private static void AssertDiagonalizes(double[,] q, double[,] m)
    {
        int n = q.GetLength(0);
        double scale = m.Cast<double>().Max(Math.Abs);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double dot = 0, quad = 0;
                for (int k = 0; k < n; k++)
                {
                    dot += q[k, i] * q[k, j];
                    for (int l = 0; l < n; l++)
                    {
                        quad += q[k, i] * m[k, l] * q[l, j];
                    }
                }

                Assert.Equal(i == j ? 1.0 : 0.0, dot, 1e-12);
                if (i != j)
                {
                    Assert.True(Math.Abs(quad) <= 1e-12 * scale, $"off-diagonal ({i},{j}) = {quad}");
                }
                else if (i > 0)
                {
                    // Ascending eigenvalues.
                    double prev = 0;
                    for (int k = 0; k < n; k++)
                    {
                        for (int l = 0; l < n; l++)
                        {
                            prev += q[k, i - 1] * m[k, l] * q[l, i - 1];
                        }
                    }

                    Assert.True(prev <= quad + (1e-12 * scale));
                }
            }
        }
    }
}
