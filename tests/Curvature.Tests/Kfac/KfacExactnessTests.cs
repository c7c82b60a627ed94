using Curvature.Backends.Managed;
using Curvature.Kfac;
using Curvature.Loss;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>curvlinops' exactness oracles: K-FAC (type-2) equals the exact block-diagonal GGN built densely.</summary>
public class KfacExactnessTests
{
    [Theory]
    [InlineData(LossReduction.Mean, false)]
    [InlineData(LossReduction.Mean, true)]
    [InlineData(LossReduction.Sum, false)]
    [InlineData(LossReduction.Sum, true)]
    public void DeepLinearNetwork_Mse_EqualsExactBlockGgn_OverUnevenBatches(LossReduction reduction, bool separate)
    {
        var rng = new Random(11);
        var net = new TwoLayerNet(rng, din: 3, dh: 4, dout: 2, relu: false);
        var model = net.Model(separate);
        int[] batchSizes = [3, 1, 2];
        int n = batchSizes.Sum();
        var x = DenseOracle.Random(rng, n, 3);
        var y = DenseOracle.Random(rng, n, 2);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = n, Reduction = reduction });
        int row = 0;
        foreach (int b in batchSizes)
        {
            net.Accumulate(builder, Rows(x, row, b), LossFunction.MeanSquaredError, reduction, Rows(y, row, b), []);
            row += b;
        }

        var kfac = DenseOracle.FromFlat(builder.ToOperator().ToDense(), model.Dimension, model.Dimension);
        var ggn = net.BlockGgn(model, x, LossFunction.MeanSquaredError, reduction);
        Assert.True(DenseOracle.RelativeError(kfac, ggn) < 1e-12, $"relative error {DenseOracle.RelativeError(kfac, ggn)}");
    }

    [Theory]
    [InlineData(LossReduction.Mean)]
    [InlineData(LossReduction.Sum)]
    public void DeepLinearNetwork_WeightSharingExpand_PerPositionMse_EqualsExactBlockGgn(LossReduction reduction)
    {
        // Both layers applied to [N, S, D] with an output [N, S, C] (P = S loss terms per example); curvlinops' EXPAND
        // exactness case. Uneven batches exercise κ_b = (N_b·P)²/(P·N).
        const int s = 3;
        var rng = new Random(17);
        var net = new TwoLayerNet(rng, din: 3, dh: 4, dout: 2, relu: false);
        var model = net.Model(separate: false);
        int[] batchSizes = [2, 1];
        int n = batchSizes.Sum();
        var rows = DenseOracle.Random(rng, n * s, 3);
        var y = DenseOracle.Random(rng, n * s, 2);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = n, LossTermsPerExample = s, Reduction = reduction });
        int start = 0;
        foreach (int b in batchSizes)
        {
            net.Feed(
                (layer, a, aShape, g, gShape) => builder.AccumulateLayer(layer, a, [b, s, aShape[1]], g, [gShape[0], b, s, gShape[2]]),
                Rows(rows, start * s, b * s), LossFunction.MeanSquaredError, reduction, Rows(y, start * s, b * s), []);
            start += b;
        }

        var kfac = DenseOracle.FromFlat(builder.ToOperator().ToDense(), model.Dimension, model.Dimension);
        var ggn = net.BlockGgn(model, rows, LossFunction.MeanSquaredError, reduction); // every (n, s) is one loss row
        Assert.True(DenseOracle.RelativeError(kfac, ggn) < 1e-12, $"relative error {DenseOracle.RelativeError(kfac, ggn)}");
    }

    [Theory]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Mean)]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Sum)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Mean)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Sum)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum)]
    public void OneDatum_AnyLoss_EqualsExactBlockGgn(LossFunction loss, LossReduction reduction)
    {
        var rng = new Random(5);
        var net = new TwoLayerNet(rng, din: 3, dh: 5, dout: 3, relu: true);
        var model = net.Model(separate: false);
        var x = DenseOracle.Random(rng, 1, 3, 2);
        var y = DenseOracle.Random(rng, 1, 3);
        if (loss == LossFunction.BinaryCrossEntropyWithLogits)
        {
            y = new double[,] { { 0, 1, 0.25 } };
        }

        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 1, Reduction = reduction });
        net.Accumulate(builder, x, loss, reduction, y, [1]);
        var kfac = DenseOracle.FromFlat(builder.ToOperator().ToDense(), model.Dimension, model.Dimension);
        var ggn = net.BlockGgn(model, x, loss, reduction);
        Assert.True(DenseOracle.MaxAbs(ggn) > 1e-3, "the oracle should not be trivially zero");
        Assert.True(DenseOracle.RelativeError(kfac, ggn) < 1e-12, $"relative error {DenseOracle.RelativeError(kfac, ggn)}");
    }

    [Fact]
    public void TwoData_NonlinearCrossEntropy_IsNotExact()
    {
        // Guard against an oracle that would accept anything: with two data and a ReLU network K-FAC is an approximation.
        var rng = new Random(8);
        var net = new TwoLayerNet(rng, din: 3, dh: 5, dout: 3, relu: true);
        var model = net.Model(separate: false);
        var x = DenseOracle.Random(rng, 2, 3, 2);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 2 });
        net.Accumulate(builder, x, LossFunction.CrossEntropy, LossReduction.Mean, new double[2, 3], [0, 2]);
        var kfac = DenseOracle.FromFlat(builder.ToOperator().ToDense(), model.Dimension, model.Dimension);
        Assert.True(DenseOracle.RelativeError(kfac, net.BlockGgn(model, x, LossFunction.CrossEntropy, LossReduction.Mean)) > 1e-3);
    }

    internal static double[,] Rows(double[,] m, int start, int count)
    {
        var r = new double[count, m.GetLength(1)];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < m.GetLength(1); j++)
            {
                r[i, j] = m[start + i, j];
            }
        }

        return r;
    }
}
