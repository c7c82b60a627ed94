using CommunityToolkit.HighPerformance;
using Curvature.Loss;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>The loss-side vectors against the loss Hessian, finite-difference gradients and sampling structure.</summary>
public class LossVectorTests
{
    private const int Rows = 3, Classes = 4;

    private static double[,] Output() => DenseOracle.Random(new Random(31), Rows, Classes, 2);

    private static double[,] Targets(LossFunction loss) => loss == LossFunction.BinaryCrossEntropyWithLogits
        ? new double[,] { { 0, 1, 1, 0 }, { 0.3, 0.5, 1, 0 }, { 1, 1, 0, 0 } }
        : DenseOracle.Random(new Random(32), Rows, Classes);

    private static readonly int[] ClassIndices = [3, 0, 2];

    private static double[] Compute(LossFunction loss, LossReduction reduction, FisherType fisher, double[,] f, int mc = 1, Random? random = null)
    {
        var dest = new double[BackpropagatedVectors.Count(fisher, Classes, mc) * Rows * Classes];
        if (loss == LossFunction.CrossEntropy)
        {
            BackpropagatedVectors.ComputeCrossEntropy(reduction, fisher, new ReadOnlySpan2D<double>(f), ClassIndices, dest, mc, random);
        }
        else
        {
            BackpropagatedVectors.Compute(loss, reduction, fisher, new ReadOnlySpan2D<double>(f), new ReadOnlySpan2D<double>(Targets(loss)), dest, mc, random);
        }

        return dest;
    }

    /// <summary>The per-row loss (mean over C for MSE/BCE with mean reduction), from its definition.</summary>
    private static double RowLoss(LossFunction loss, LossReduction reduction, double[] f, int row)
    {
        var y = Targets(loss);
        double total = 0;
        switch (loss)
        {
            case LossFunction.MeanSquaredError:
                for (int j = 0; j < f.Length; j++)
                {
                    total += (f[j] - y[row, j]) * (f[j] - y[row, j]);
                }

                break;
            case LossFunction.CrossEntropy:
                double max = f.Max();
                total = max + Math.Log(f.Sum(v => Math.Exp(v - max))) - f[ClassIndices[row]];
                return total;
            default:
                for (int j = 0; j < f.Length; j++)
                {
                    total += Math.Max(f[j], 0) - (f[j] * y[row, j]) + Math.Log(1 + Math.Exp(-Math.Abs(f[j])));
                }

                break;
        }

        return reduction == LossReduction.Mean ? total / f.Length : total;
    }

    [Theory]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Mean)]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Sum)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Mean)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Sum)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum)]
    public void Type2_OuterProductsSumToTheScaledLossHessian(LossFunction loss, LossReduction reduction)
    {
        var f = Output();
        var vectors = Compute(loss, reduction, FisherType.Type2, f);
        double s = reduction == LossReduction.Mean ? 1.0 / Rows : 1;
        for (int r = 0; r < Rows; r++)
        {
            var fr = Enumerable.Range(0, Classes).Select(j => f[r, j]).ToArray();
            var hessian = TwoLayerNet.LossHessian(loss, reduction, fr, Rows); // Hessian of the reduced loss w.r.t. this row
            var sum = new double[Classes, Classes];
            for (int v = 0; v < Classes; v++)
            {
                for (int i = 0; i < Classes; i++)
                {
                    for (int j = 0; j < Classes; j++)
                    {
                        sum[i, j] += vectors[(v * Rows * Classes) + (r * Classes) + i] * vectors[(v * Rows * Classes) + (r * Classes) + j];
                    }
                }
            }

            // Σ_v v vᵀ = s² c H_row = s · (Hessian of the reduced loss).
            var expected = (double[,])hessian.Clone();
            for (int i = 0; i < Classes; i++)
            {
                for (int j = 0; j < Classes; j++)
                {
                    expected[i, j] *= s;
                }
            }

            Assert.True(DenseOracle.RelativeError(sum, expected) < 1e-13, $"row {r}: {DenseOracle.RelativeError(sum, expected)}");
        }
    }

    [Theory]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Mean)]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Sum)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Mean)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Sum)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum)]
    public void Empirical_IsTheScaledFiniteDifferenceGradient(LossFunction loss, LossReduction reduction)
    {
        var f = Output();
        var vectors = Compute(loss, reduction, FisherType.Empirical, f);
        double s = reduction == LossReduction.Mean ? 1.0 / Rows : 1;
        double k = reduction == LossReduction.Mean && loss != LossFunction.CrossEntropy ? Math.Sqrt(Classes) : 1; // curvlinops' √C rule
        const double h = 1e-6;
        for (int r = 0; r < Rows; r++)
        {
            for (int j = 0; j < Classes; j++)
            {
                var plus = Enumerable.Range(0, Classes).Select(q => f[r, q] + (q == j ? h : 0)).ToArray();
                var minus = Enumerable.Range(0, Classes).Select(q => f[r, q] - (q == j ? h : 0)).ToArray();
                double grad = (RowLoss(loss, reduction, plus, r) - RowLoss(loss, reduction, minus, r)) / (2 * h);
                Assert.Equal(s * k * grad, vectors[(r * Classes) + j], 1e-8);
            }
        }
    }

    [Theory]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum)]
    public void MonteCarlo_HasOneHotOrBinaryStructure_AndIsReproducible(LossFunction loss, LossReduction reduction)
    {
        const int mc = 3;
        var f = Output();
        var vectors = Compute(loss, reduction, FisherType.MonteCarlo, f, mc, new Random(7));
        Assert.Equal(vectors, Compute(loss, reduction, FisherType.MonteCarlo, f, mc, new Random(7)));
        double s = reduction == LossReduction.Mean ? 1.0 / Rows : 1;
        double c = loss == LossFunction.CrossEntropy || reduction == LossReduction.Sum ? 1 : 1.0 / Classes;
        for (int v = 0; v < mc; v++)
        {
            for (int r = 0; r < Rows; r++)
            {
                var fr = Enumerable.Range(0, Classes).Select(j => f[r, j]).ToArray();
                double max = fr.Max();
                double z = fr.Sum(q => Math.Exp(q - max));
                int ones = 0;
                for (int j = 0; j < Classes; j++)
                {
                    double prob = loss == LossFunction.CrossEntropy ? Math.Exp(fr[j] - max) / z : 1 / (1 + Math.Exp(-fr[j]));
                    double sample = prob - (vectors[(v * Rows * Classes) + (r * Classes) + j] * Math.Sqrt(mc) / (s * Math.Sqrt(c)));
                    Assert.True(Math.Abs(sample) < 1e-12 || Math.Abs(sample - 1) < 1e-12, $"sample {sample}");
                    ones += Math.Abs(sample - 1) < 1e-12 ? 1 : 0;
                }

                if (loss == LossFunction.CrossEntropy)
                {
                    Assert.Equal(1, ones);
                }
            }
        }
    }

    [Fact]
    public void MonteCarlo_Mse_SecondMomentApproachesTheHessian()
    {
        const int mc = 20000;
        var f = new double[1, 2];
        var dest = new double[mc * 2];
        BackpropagatedVectors.Compute(LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.MonteCarlo, new ReadOnlySpan2D<double>(f), new ReadOnlySpan2D<double>(f), dest, mc, new Random(3));
        double s00 = 0, s01 = 0;
        for (int v = 0; v < mc; v++)
        {
            s00 += dest[2 * v] * dest[2 * v];
            s01 += dest[2 * v] * dest[(2 * v) + 1];
        }

        Assert.Equal(1.0, s00, 0.05); // s² · 2c = 1 · 2 · ½
        Assert.Equal(0.0, s01, 0.05);
    }

    [Fact]
    public void BadArguments_AreRejected()
    {
        var f = Output();
        var dest = new double[Rows * Classes];
        Assert.Throws<ArgumentException>(() => BackpropagatedVectors.ComputeCrossEntropy(LossReduction.Mean, FisherType.Empirical, new ReadOnlySpan2D<double>(f), [0, 1, 4], dest));
        Assert.Throws<ArgumentException>(() => BackpropagatedVectors.Compute(LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Empirical, new ReadOnlySpan2D<double>(f), new ReadOnlySpan2D<double>(f), dest));
        Assert.Throws<ArgumentException>(() => BackpropagatedVectors.Count(FisherType.Type2, Classes, mcSamples: 2));
        Assert.Throws<ArgumentNullException>(() => BackpropagatedVectors.ComputeCrossEntropy(LossReduction.Mean, FisherType.MonteCarlo, new ReadOnlySpan2D<double>(f), [], dest));
        Assert.Throws<ArgumentException>(() => BackpropagatedVectors.ComputeCrossEntropy(LossReduction.Mean, FisherType.Empirical, new ReadOnlySpan2D<double>(f), ClassIndices, new double[5]));
        f[1, 1] = double.NaN;
        Assert.Throws<ArgumentException>(() => BackpropagatedVectors.ComputeCrossEntropy(LossReduction.Mean, FisherType.Empirical, new ReadOnlySpan2D<double>(f), ClassIndices, dest));
    }
}
