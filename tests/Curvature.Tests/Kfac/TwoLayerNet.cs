using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Kfac;
using Curvature.Loss;

namespace Curvature.Tests.Kfac;

/// <summary>
/// Linear(din, dh) → φ → Linear(dh, dout) with analytic forward pass, per-datum Jacobians and backpropagation:
/// the test's own model, so K-FAC can be compared with the exact GGN built densely.
/// </summary>
internal sealed class TwoLayerNet
{
    public TwoLayerNet(Random rng, int din, int dh, int dout, bool relu)
    {
        Din = din;
        Dh = dh;
        Dout = dout;
        Relu = relu;
        W1 = DenseOracle.Random(rng, dh, din);
        B1 = DenseOracle.Flat(DenseOracle.Random(rng, dh, 1));
        W2 = DenseOracle.Random(rng, dout, dh);
        B2 = DenseOracle.Flat(DenseOracle.Random(rng, dout, 1));
    }

    public int Din { get; }

    public int Dh { get; }

    public int Dout { get; }

    public bool Relu { get; }

    public double[,] W1 { get; }

    public double[] B1 { get; }

    public double[,] W2 { get; }

    public double[] B2 { get; }

    public int Dimension => (Dh * Din) + Dh + (Dout * Dh) + Dout;

    public ModelSpec Model(bool separate) => new([LayerSpec.Linear("0", Din, Dh), LayerSpec.Linear("2", Dh, Dout)], separate);

    public (double[] Z, double[] H, double[] F) Forward(ReadOnlySpan<double> x)
    {
        var z = new double[Dh];
        var h = new double[Dh];
        for (int i = 0; i < Dh; i++)
        {
            double s = B1[i];
            for (int j = 0; j < Din; j++)
            {
                s += W1[i, j] * x[j];
            }

            z[i] = s;
            h[i] = Relu ? Math.Max(0, s) : s;
        }

        var f = new double[Dout];
        for (int o = 0; o < Dout; o++)
        {
            double s = B2[o];
            for (int i = 0; i < Dh; i++)
            {
                s += W2[o, i] * h[i];
            }

            f[o] = s;
        }

        return (z, h, f);
    }

    private double Derivative(double z) => Relu ? (z > 0 ? 1 : 0) : 1;

    /// <summary>∂f/∂θ (Dout × Dimension) in the flat order W1, b1, W2, b2.</summary>
    public double[,] Jacobian(ReadOnlySpan<double> x)
    {
        var (z, h, _) = Forward(x);
        var j = new double[Dout, Dimension];
        int ob1 = Dh * Din, ow2 = ob1 + Dh, ob2 = ow2 + (Dout * Dh);
        for (int o = 0; o < Dout; o++)
        {
            for (int i = 0; i < Dh; i++)
            {
                double d = W2[o, i] * Derivative(z[i]);
                for (int k = 0; k < Din; k++)
                {
                    j[o, (i * Din) + k] = d * x[k];
                }

                j[o, ob1 + i] = d;
                j[o, ow2 + (o * Dh) + i] = h[i];
            }

            j[o, ob2 + o] = 1;
        }

        return j;
    }

    /// <summary>Feeds one batch into the builder: computes the loss-side vectors and backpropagates them.</summary>
    public void Accumulate(KfacFactorBuilder<double> builder, double[,] x, LossFunction loss, LossReduction reduction, double[,] targets, int[] classes) =>
        Feed((layer, a, aShape, g, gShape) => builder.AccumulateLayer(layer, a, aShape, g, gShape), x, loss, reduction, targets, classes);

    /// <summary>Computes one batch's layer inputs and output gradients and hands them to <paramref name="sink"/>.</summary>
    public void Feed(Action<int, double[], int[], double[], int[]> sink, double[,] x, LossFunction loss, LossReduction reduction, double[,] targets, int[] classes)
    {
        int n = x.GetLength(0);
        var outputs = new double[n * Dout];
        var hidden = new double[n * Dh];
        var zs = new double[n * Dh];
        for (int i = 0; i < n; i++)
        {
            var (z, h, f) = Forward(DenseOracle.Flat(x).AsSpan(i * Din, Din));
            f.CopyTo(outputs, i * Dout);
            h.CopyTo(hidden, i * Dh);
            z.CopyTo(zs, i * Dh);
        }

        int v = BackpropagatedVectors.Count(FisherType.Type2, Dout);
        var g2 = new double[v * n * Dout];
        var outView = new ReadOnlySpan2D<double>(outputs, n, Dout);
        if (loss == LossFunction.CrossEntropy)
        {
            BackpropagatedVectors.ComputeCrossEntropy(reduction, FisherType.Type2, outView, classes, g2);
        }
        else
        {
            BackpropagatedVectors.Compute(loss, reduction, FisherType.Type2, outView, new ReadOnlySpan2D<double>(DenseOracle.Flat(targets), n, Dout), g2);
        }

        var g1 = new double[v * n * Dh];
        for (int r = 0; r < v * n; r++)
        {
            int i = r % n;
            for (int k = 0; k < Dh; k++)
            {
                double s = 0;
                for (int o = 0; o < Dout; o++)
                {
                    s += W2[o, k] * g2[(r * Dout) + o];
                }

                g1[(r * Dh) + k] = s * Derivative(zs[(i * Dh) + k]);
            }
        }

        sink(0, DenseOracle.Flat(x), [n, Din], g1, [v, n, Dh]);
        sink(1, hidden, [n, Dh], g2, [v, n, Dout]);
    }

    /// <summary>Hessian of the data-set loss w.r.t. one output row (N rows in total).</summary>
    public static double[,] LossHessian(LossFunction loss, LossReduction reduction, double[] f, int totalRows)
    {
        int c = f.Length;
        var h = new double[c, c];
        switch (loss)
        {
            case LossFunction.MeanSquaredError:
                for (int i = 0; i < c; i++)
                {
                    h[i, i] = 2.0;
                }

                break;
            case LossFunction.CrossEntropy:
                double max = f.Max();
                var p = f.Select(v => Math.Exp(v - max)).ToArray();
                double sum = p.Sum();
                for (int i = 0; i < c; i++)
                {
                    p[i] /= sum;
                }

                for (int i = 0; i < c; i++)
                {
                    for (int j = 0; j < c; j++)
                    {
                        h[i, j] = (i == j ? p[i] : 0) - (p[i] * p[j]);
                    }
                }

                break;
            default:
                for (int i = 0; i < c; i++)
                {
                    double s = 1 / (1 + Math.Exp(-f[i]));
                    h[i, i] = s * (1 - s);
                }

                break;
        }

        double scale = reduction == LossReduction.Sum ? 1 : 1.0 / totalRows / (loss == LossFunction.CrossEntropy ? 1 : c);
        for (int i = 0; i < c; i++)
        {
            for (int j = 0; j < c; j++)
            {
                h[i, j] *= scale;
            }
        }

        return h;
    }

    /// <summary>The exact GGN Σ_n J_nᵀ H_n J_n over all data, restricted to the model's blocks (other entries zero).</summary>
    public double[,] BlockGgn(ModelSpec model, double[,] x, LossFunction loss, LossReduction reduction)
    {
        int n = x.GetLength(0);
        var ggn = new double[Dimension, Dimension];
        for (int i = 0; i < n; i++)
        {
            var xi = DenseOracle.Flat(x).AsSpan(i * Din, Din).ToArray();
            var j = Jacobian(xi);
            var h = LossHessian(loss, reduction, Forward(xi).F, n);
            var term = DenseOracle.Multiply(DenseOracle.Transpose(j), DenseOracle.Multiply(h, j));
            for (int a = 0; a < Dimension; a++)
            {
                for (int b = 0; b < Dimension; b++)
                {
                    ggn[a, b] += term[a, b];
                }
            }
        }

        var owner = BlockOwner(model);
        for (int a = 0; a < Dimension; a++)
        {
            for (int b = 0; b < Dimension; b++)
            {
                if (owner[a] != owner[b])
                {
                    ggn[a, b] = 0;
                }
            }
        }

        return ggn;
    }

    public static int[] BlockOwner(ModelSpec model)
    {
        var owner = new int[model.Dimension];
        foreach (var b in model.Blocks)
        {
            if (b.HasWeight)
            {
                owner.AsSpan(b.WeightOffset, b.OutputSize * b.Layer.WeightInputSize).Fill(b.Index);
            }

            if (b.HasBias)
            {
                owner.AsSpan(b.BiasOffset, b.OutputSize).Fill(b.Index);
            }
        }

        return owner;
    }
}
