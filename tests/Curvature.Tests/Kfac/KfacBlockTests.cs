using Curvature.Backends.Managed;
using Curvature.Models;
using Curvature.Kfac;
using Curvature.Layers;
using Curvature.Loss;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>Factor accumulation for weight sharing and convolutions against factors computed by direct indexing in the test.</summary>
public class KfacBlockTests
{
    private static double[] RandomArray(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (2 * rng.NextDouble()) - 1)];

    private static void AddOuter(double[,] m, double[] v, double scale)
    {
        for (int i = 0; i < v.Length; i++)
        {
            for (int j = 0; j < v.Length; j++)
            {
                m[i, j] += scale * v[i] * v[j];
            }
        }
    }

    private static double[,] Factor(KfacBlock<double> block, bool input) =>
        (input ? block.InputCovariance : block.GradientCovariance).ToArray();

    [Theory]
    [InlineData(WeightSharing.Expand, LossReduction.Mean)]
    [InlineData(WeightSharing.Reduce, LossReduction.Mean)]
    [InlineData(WeightSharing.Expand, LossReduction.Sum)]
    [InlineData(WeightSharing.Reduce, LossReduction.Sum)]
    public void Conv2d_FactorsMatchDirectPatchIndexing(WeightSharing approx, LossReduction reduction)
    {
        var rng = new Random(21);
        var geo = new Conv2dGeometry(2, 3, 2, 3, strideHeight: 2, strideWidth: 1, paddingHeight: 1, paddingWidth: 2, dilationHeight: 1, dilationWidth: 2);
        int h = 5, w = 4, oh = geo.OutputHeight(h), ow = geo.OutputWidth(w), l = oh * ow, v = 2;
        var model = new ModelSpec([LayerSpec.Conv2d("0", geo, bias: true)], separateWeightAndBias: false);
        int[] sizes = [2, 3];
        int n = sizes.Sum();
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = n, Reduction = reduction, Approximation = approx });
        int d = geo.PatchSize + 1;
        var expectedA = new double[d, d];
        var expectedG = new double[3, 3];
        bool expand = approx == WeightSharing.Expand;
        foreach (int nb in sizes)
        {
            var a = RandomArray(rng, nb * 2 * h * w);
            var g = RandomArray(rng, v * nb * 3 * l);
            builder.AccumulateLayer(0, a, [nb, 2, h, w], g, [v, nb, 3, oh, ow]);
            double kappa = reduction == LossReduction.Sum ? 1 : (double)nb * nb / n;
            for (int i = 0; i < nb; i++)
            {
                var mean = new double[d];
                for (int y = 0; y < oh; y++)
                {
                    for (int x = 0; x < ow; x++)
                    {
                        var patch = new double[d];
                        for (int c = 0; c < 2; c++)
                        {
                            for (int ki = 0; ki < 2; ki++)
                            {
                                for (int kj = 0; kj < 3; kj++)
                                {
                                    int r = (y * 2) + ki - 1, col = x + (kj * 2) - 2;
                                    patch[(((c * 2) + ki) * 3) + kj] = r >= 0 && r < h && col >= 0 && col < w ? a[(((i * 2) + c) * h * w) + (r * w) + col] : 0;
                                }
                            }
                        }

                        patch[d - 1] = 1;
                        if (expand)
                        {
                            AddOuter(expectedA, patch, 1.0 / (n * l));
                        }

                        for (int f = 0; f < d - 1; f++)
                        {
                            mean[f] += patch[f] / l;
                        }
                    }
                }

                mean[d - 1] = 1;
                if (!expand)
                {
                    AddOuter(expectedA, mean, 1.0 / n);
                }

                for (int vv = 0; vv < v; vv++)
                {
                    var sum = new double[3];
                    for (int p = 0; p < l; p++)
                    {
                        var gv = new double[3];
                        for (int c = 0; c < 3; c++)
                        {
                            gv[c] = g[(((((vv * nb) + i) * 3) + c) * l) + p];
                            sum[c] += gv[c];
                        }

                        if (expand)
                        {
                            AddOuter(expectedG, gv, kappa);
                        }
                    }

                    if (!expand)
                    {
                        AddOuter(expectedG, sum, kappa);
                    }
                }
            }
        }

        Assert.True(DenseOracle.RelativeError(Factor(builder.Blocks[0], true), expectedA) < 1e-13);
        Assert.True(DenseOracle.RelativeError(Factor(builder.Blocks[0], false), expectedG) < 1e-13);
    }

    [Theory]
    [InlineData(WeightSharing.Expand)]
    [InlineData(WeightSharing.Reduce)]
    public void LinearWithWeightSharing_SeparateBlocks_MatchDirectSums(WeightSharing approx)
    {
        var rng = new Random(22);
        var model = new ModelSpec([LayerSpec.Linear("0", 3, 2)], separateWeightAndBias: true);
        int nb = 3, s1 = 2, s2 = 2, s = s1 * s2, v = 1, p = 2;
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 3, LossTermsPerExample = p, Approximation = approx });
        var a = RandomArray(rng, nb * s * 3);
        var g = RandomArray(rng, v * nb * s * 2);
        builder.AccumulateLayer("0", a, [nb, s1, s2, 3], g, [v, nb, s1, s2, 2]);
        var expectedA = new double[3, 3];
        var expectedG = new double[2, 2];
        double kappa = (double)(nb * p) * (nb * p) / (p * 3);
        for (int i = 0; i < nb; i++)
        {
            var meanX = new double[3];
            var sumG = new double[2];
            for (int q = 0; q < s; q++)
            {
                var x = a.AsSpan(((i * s) + q) * 3, 3).ToArray();
                var gv = g.AsSpan(((i * s) + q) * 2, 2).ToArray();
                if (approx == WeightSharing.Expand)
                {
                    AddOuter(expectedA, x, 1.0 / (3 * s));
                    AddOuter(expectedG, gv, kappa);
                }

                for (int f = 0; f < 3; f++)
                {
                    meanX[f] += x[f] / s;
                }

                sumG[0] += gv[0];
                sumG[1] += gv[1];
            }

            if (approx == WeightSharing.Reduce)
            {
                AddOuter(expectedA, meanX, 1.0 / 3);
                AddOuter(expectedG, sumG, kappa);
            }
        }

        Assert.Equal(2, builder.Blocks.Count);
        Assert.Equal(KfacBlockParameters.Weight, builder.Blocks[0].Layout.Parameters);
        Assert.Equal(KfacBlockParameters.Bias, builder.Blocks[1].Layout.Parameters);
        Assert.True(DenseOracle.RelativeError(Factor(builder.Blocks[0], true), expectedA) < 1e-13);
        Assert.True(DenseOracle.RelativeError(Factor(builder.Blocks[0], false), expectedG) < 1e-13);
        Assert.Equal(Factor(builder.Blocks[0], false), Factor(builder.Blocks[1], false));
        Assert.Equal(0, builder.Blocks[1].InputCovariance.Length);
    }

    [Fact]
    public void RejectedBatch_LeavesEveryFactorUntouched()
    {
        var rng = new Random(23);
        var model = new ModelSpec([LayerSpec.Linear("0", 3, 2), LayerSpec.Linear("1", 2, 2, bias: false)]);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 8 });
        builder.AccumulateLayer(0, RandomArray(rng, 12), [4, 3], RandomArray(rng, 8), [1, 4, 2]);
        var before = builder.Blocks.Select(b => (Factor(b, false), Factor(b, true))).ToList();
        var nan = RandomArray(rng, 12);
        nan[5] = double.NaN;
        var inf = RandomArray(rng, 8);
        inf[1] = double.NegativeInfinity;
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, nan, [4, 3], RandomArray(rng, 8), [1, 4, 2]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, RandomArray(rng, 12), [4, 3], inf, [1, 4, 2]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, RandomArray(rng, 12), [4, 3], RandomArray(rng, 8), [1, 2, 4]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, RandomArray(rng, 12), [3, 4], RandomArray(rng, 8), [1, 4, 2]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, [], [0, 3], [], [1, 0, 2]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, RandomArray(rng, 11), [4, 3], RandomArray(rng, 8), [1, 4, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AccumulateLayer(2, RandomArray(rng, 12), [4, 3], RandomArray(rng, 8), [1, 4, 2]));
        Assert.Throws<KeyNotFoundException>(() => builder.AccumulateLayer("9", RandomArray(rng, 12), [4, 3], RandomArray(rng, 8), [1, 4, 2]));
        var after = builder.Blocks.Select(b => (Factor(b, false), Factor(b, true))).ToList();
        for (int i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i].Item1, after[i].Item1);
            Assert.Equal(before[i].Item2, after[i].Item2);
        }
    }

    [Fact]
    public void ForwardOnly_GradientFactorIsIdentity_AndGradientsAreNotNeeded()
    {
        var rng = new Random(24);
        var model = new ModelSpec([LayerSpec.Linear("0", 3, 2)]);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 4, Fisher = FisherType.ForwardOnly });
        var a = RandomArray(rng, 12);
        builder.AccumulateLayer(0, a, [4, 3], [], []);
        Assert.Equal(new double[,] { { 1, 0 }, { 0, 1 } }, Factor(builder.Blocks[0], false));
        var expectedA = new double[4, 4];
        for (int i = 0; i < 4; i++)
        {
            AddOuter(expectedA, [a[i * 3], a[(i * 3) + 1], a[(i * 3) + 2], 1], 0.25);
        }

        Assert.True(DenseOracle.RelativeError(Factor(builder.Blocks[0], true), expectedA) < 1e-14);
        Assert.Equal(0, BackpropagatedVectors.Count(FisherType.ForwardOnly, 5));
    }

    [Theory]
    [InlineData(WeightSharing.Expand)]
    [InlineData(WeightSharing.Reduce)]
    public void GroupedConvolution_InputFactorAveragesPatchesOverGroups(WeightSharing approx)
    {
        // curvlinops: the patches of the channel groups are averaged, so A is ((C_in/g)·kh·kw + 1)²; computed here by
        // direct indexing of the padded image, group by group.
        var rng = new Random(26);
        int groups = 3, cin = 6, cout = 3, h = 4, w = 5, n = 2;
        var geo = new Conv2dGeometry(cin, cout, 2, 3, paddingHeight: 1, paddingWidth: 1, dilationWidth: 2, groups: groups);
        int oh = geo.OutputHeight(h), ow = geo.OutputWidth(w), l = oh * ow, per = cin / groups, d = per * 2 * 3;
        var model = new ModelSpec([LayerSpec.Conv2d("0", geo)]);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = n, Approximation = approx });
        var a = RandomArray(rng, n * cin * h * w);
        var g = RandomArray(rng, n * cout * l);
        builder.AccumulateLayer(0, a, [n, cin, h, w], g, [1, n, cout, oh, ow]);

        double Pixel(int image, int c, int r, int col) =>
            (uint)r < (uint)h && (uint)col < (uint)w ? a[(((image * cin) + c) * h * w) + (r * w) + col] : 0;

        var expected = new double[d + 1, d + 1];
        for (int image = 0; image < n; image++)
        {
            var mean = new double[d + 1];
            for (int y = 0; y < oh; y++)
            {
                for (int x = 0; x < ow; x++)
                {
                    var patch = new double[d + 1];
                    patch[d] = 1;
                    for (int grp = 0; grp < groups; grp++)
                    {
                        for (int c = 0; c < per; c++)
                        {
                            for (int i = 0; i < 2; i++)
                            {
                                for (int j = 0; j < 3; j++)
                                {
                                    patch[(((c * 2) + i) * 3) + j] += Pixel(image, (grp * per) + c, y - 1 + i, x - 1 + (2 * j)) / groups;
                                }
                            }
                        }
                    }

                    if (approx == WeightSharing.Expand)
                    {
                        AddOuter(expected, patch, 1.0 / (n * l));
                    }
                    else
                    {
                        for (int f = 0; f < d; f++)
                        {
                            mean[f] += patch[f] / l;
                        }
                    }
                }
            }

            if (approx == WeightSharing.Reduce)
            {
                mean[d] = 1;
                AddOuter(expected, mean, 1.0 / n);
            }
        }

        Assert.Equal(d + 1, builder.Blocks[0].InputCovariance.Height);
        Assert.True(DenseOracle.RelativeError(Factor(builder.Blocks[0], true), expected) < 1e-14);
    }

    [Fact]
    public void Options_AreValidated()
    {
        var model = new ModelSpec([LayerSpec.Linear("0", 3, 2)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 2, LossTermsPerExample = 0 }));
        Assert.Throws<ArgumentException>(() => new ModelSpec([LayerSpec.Linear("0", 3, 2), LayerSpec.Linear("0", 2, 2)]));
    }

    [Fact]
    public void SteadyStateAccumulation_AllocatesNothing()
    {
        var rng = new Random(25);
        var geo = new Conv2dGeometry(2, 3, 3, 3, paddingHeight: 1, paddingWidth: 1);
        var model = new ModelSpec([LayerSpec.Conv2d("0", geo), LayerSpec.Linear("2", 48, 3)], separateWeightAndBias: true);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 100, Approximation = WeightSharing.Reduce });
        var a0 = RandomArray(rng, 2 * 2 * 16);
        var g0 = RandomArray(rng, 3 * 2 * 3 * 16);
        var a1 = RandomArray(rng, 2 * 48);
        var g1 = RandomArray(rng, 3 * 2 * 3);
        int[] a0Shape = [2, 2, 4, 4], g0Shape = [3, 2, 3, 4, 4], a1Shape = [2, 48], g1Shape = [3, 2, 3];
        builder.AccumulateLayer(0, a0, a0Shape, g0, g0Shape);
        builder.AccumulateLayer(1, a1, a1Shape, g1, g1Shape);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            builder.AccumulateLayer(0, a0, a0Shape, g0, g0Shape);
            builder.AccumulateLayer(1, a1, a1Shape, g1, g1Shape);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
