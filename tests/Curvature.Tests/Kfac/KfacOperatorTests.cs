using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Loss;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>The block-diagonal K-FAC operator and its inverses against dense float64 oracles.</summary>
public class KfacOperatorTests
{
    private static KfacFactorBuilder<double> Build(bool separate, int seed = 3)
    {
        var rng = new Random(seed);
        var net = new TwoLayerNet(rng, din: 3, dh: 4, dout: 3, relu: true);
        var model = net.Model(separate);
        var builder = new KfacFactorBuilder<double>(new ManagedBackend(), model, new KfacOptions { NumData = 7 });
        var x = DenseOracle.Random(rng, 7, 3, 2);
        net.Accumulate(builder, KfacExactnessTests.Rows(x, 0, 4), LossFunction.CrossEntropy, LossReduction.Mean, new double[4, 3], [0, 1, 2, 1]);
        net.Accumulate(builder, KfacExactnessTests.Rows(x, 4, 3), LossFunction.CrossEntropy, LossReduction.Mean, new double[3, 3], [2, 2, 0]);
        return builder;
    }

    /// <summary>Dense operator assembled in the test from the factors: kron(G, A) per block, mapped to parameter indices.</summary>
    private static double[,] DenseFromFactors(ModelSpec model, IReadOnlyList<(double[,] G, double[,]? A)> factors)
    {
        var dense = new double[model.Dimension, model.Dimension];
        foreach (var b in model.Blocks)
        {
            var (g, a) = factors[b.Index];
            var k = a is null ? g : DenseOracle.Kron(g, a);
            int cols = b.Columns, dIn = b.Layer.WeightInputSize;
            int Index(int canonical)
            {
                int o = canonical / cols, j = canonical % cols;
                if (!b.HasInputFactor)
                {
                    return b.BiasOffset + o;
                }

                return j < dIn && b.HasWeight ? b.WeightOffset + (o * dIn) + j : b.BiasOffset + o;
            }

            for (int p = 0; p < b.Dimension; p++)
            {
                for (int q = 0; q < b.Dimension; q++)
                {
                    dense[Index(p), Index(q)] = k[p, q];
                }
            }
        }

        return dense;
    }

    private static List<(double[,] G, double[,]? A)> Factors(KfacFactorBuilder<double> builder, Func<KfacBlock<double>, (double dG, double dA)>? damping = null) =>
        [.. builder.Blocks.Select(b =>
        {
            var (dG, dA) = damping?.Invoke(b) ?? (0, 0);
            var g = DenseOracle.AddIdentity(DenseOracle.FromFlat(b.GradientCovariance.ToArray().Cast<double>().ToArray(), b.Layout.OutputSize, b.Layout.OutputSize), dG);
            double[,]? a = b.Layout.HasInputFactor
                ? DenseOracle.AddIdentity(DenseOracle.FromFlat(b.InputCovariance.ToArray().Cast<double>().ToArray(), b.Layout.InputSize, b.Layout.InputSize), dA)
                : null;
            return (g, a);
        })];

    private static double Trace(double[,] m)
    {
        double t = 0;
        for (int i = 0; i < m.GetLength(0); i++)
        {
            t += m[i, i];
        }

        return t;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Multiply_MatchesDenseKroneckerOracle_AndApplyMatchesAColumn(bool separate)
    {
        var builder = Build(separate);
        var op = builder.ToOperator();
        int dim = op.Dimension;
        var dense = DenseFromFactors(builder.Model, Factors(builder));
        var m = DenseOracle.Random(new Random(1), dim, 3);
        var result = new double[dim * 3];
        op.Multiply(new ReadOnlySpan2D<double>(DenseOracle.Flat(m), dim, 3), new Span2D<double>(result, dim, 3));
        Assert.True(DenseOracle.RelativeError(DenseOracle.FromFlat(result, dim, 3), DenseOracle.Multiply(dense, m)) < 1e-13);

        var v = new double[dim];
        var y = new double[dim];
        for (int i = 0; i < dim; i++)
        {
            v[i] = m[i, 1];
        }

        op.Apply(v, y);
        for (int i = 0; i < dim; i++)
        {
            Assert.Equal(result[(i * 3) + 1], y[i], 1e-14);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TraceFrobeniusLogDet_MatchDenseMatrix(bool separate)
    {
        var builder = Build(separate);
        var dense = DenseOracle.FromFlat(builder.ToOperator().ToDense(), builder.Model.Dimension, builder.Model.Dimension);
        var op = builder.ToOperator();
        Assert.Equal(Trace(dense), op.Trace(), 1e-12);
        double fro = Math.Sqrt(DenseOracle.Flat(dense).Sum(v => v * v));
        Assert.Equal(fro, op.FrobeniusNorm(), 1e-12);

        // log det needs non-singular factors: damp them, then compare with the dense Cholesky log-determinant.
        foreach (var b in builder.Blocks)
        {
            for (int i = 0; i < b.Layout.OutputSize; i++)
            {
                b.GradientCovariance[i, i] += 0.1;
            }

            for (int i = 0; i < b.Layout.InputSize; i++)
            {
                b.InputCovariance[i, i] += 0.1;
            }
        }

        var damped = DenseOracle.FromFlat(op.ToDense(), op.Dimension, op.Dimension);
        Assert.Equal(DenseOracle.LogDetSpd(damped), op.LogDeterminant(), 1e-10);
        Assert.Equal(Math.Exp(DenseOracle.LogDetSpd(damped)), op.Determinant(), Math.Exp(DenseOracle.LogDetSpd(damped)) * 1e-10);
    }

    [Theory]
    [InlineData(false, DampingMode.Plain)]
    [InlineData(true, DampingMode.Plain)]
    [InlineData(false, DampingMode.Heuristic)]
    [InlineData(true, DampingMode.Heuristic)]
    [InlineData(false, DampingMode.TraceScaled)]
    [InlineData(true, DampingMode.Exact)]
    [InlineData(false, DampingMode.Exact)]
    public void Inverse_EqualsDenseInverseOfTheDampedMatrix(bool separate, DampingMode mode)
    {
        const double delta = 1e-2, minDamping = 1e-8;
        var builder = Build(separate);
        var op = builder.ToOperator();
        var inverse = op.Inverse(new KfacInverseOptions { Damping = delta, Mode = mode, MinDamping = minDamping });
        double[,] expected;
        if (mode == DampingMode.Exact)
        {
            expected = DenseOracle.Inverse(DenseOracle.AddIdentity(DenseOracle.FromFlat(op.ToDense(), op.Dimension, op.Dimension), delta));
        }
        else
        {
            // Per-factor dampings computed here from the definitions (Martens & Grosse §6.3 for the heuristic).
            var damped = DenseFromFactors(builder.Model, Factors(builder, b =>
            {
                var g = DenseOracle.FromFlat(b.GradientCovariance.ToArray().Cast<double>().ToArray(), b.Layout.OutputSize, b.Layout.OutputSize);
                double mg = Trace(g) / b.Layout.OutputSize;
                if (!b.Layout.HasInputFactor)
                {
                    return mode switch
                    {
                        DampingMode.Plain => (delta, 0),
                        DampingMode.Heuristic => (Math.Max(delta, minDamping), 0),
                        _ => (Math.Max(delta * mg, 1e-12), 0),
                    };
                }

                var a = DenseOracle.FromFlat(b.InputCovariance.ToArray().Cast<double>().ToArray(), b.Layout.InputSize, b.Layout.InputSize);
                double ma = Trace(a) / b.Layout.InputSize;
                double pi = Math.Sqrt(ma / mg);
                return mode switch
                {
                    DampingMode.Plain => (delta, delta),
                    DampingMode.Heuristic => (Math.Max(Math.Sqrt(delta) / pi, minDamping), Math.Max(Math.Sqrt(delta) * pi, minDamping)),
                    _ => (Math.Max(delta * mg, 1e-12), Math.Max(delta * ma, 1e-12)),
                };
            }));
            expected = DenseOracle.Inverse(damped);
        }

        var actual = DenseOracle.FromFlat(inverse.ToDense(), op.Dimension, op.Dimension);
        Assert.True(DenseOracle.RelativeError(actual, expected) < 1e-10, $"relative error {DenseOracle.RelativeError(actual, expected)}");
    }

    [Fact]
    public void HeuristicDamping_ZeroTrace_FallsBackToPiOne()
    {
        var d = FactorDamping.For(DampingMode.Heuristic, 1e-2, 1e-8, traceG: 0, orderG: 3, traceA: 2, orderA: 2);
        Assert.Equal(0.1, d.Gradient, 1e-15);
        Assert.Equal(0.1, d.Input, 1e-15);
        Assert.Throws<ArgumentException>(() => FactorDamping.For(DampingMode.Heuristic, 1e-2, 1e-8, -1, 3, 2, 2));
    }

    [Fact]
    public void Float32_MatchesFloat64_WithinDocumentedTolerance()
    {
        // Documented tolerance: float32 factors and products within 1e-5 relative, damped inverses within 1e-3
        // (the inverse amplifies the 6e-8 rounding by the damped condition number, here up to ~1e3).
        var b64 = Build(separate: false);
        var model = b64.Model;
        var b32 = new KfacFactorBuilder<float>(new ManagedBackend(), model, b64.Options);
        var rng = new Random(3);
        var net = new TwoLayerNet(rng, din: 3, dh: 4, dout: 3, relu: true);
        var x = DenseOracle.Random(rng, 7, 3, 2);

        // Feed the same batches to a float32 builder (layer data rounded to float32).
        foreach (var (start, count, classes) in new[] { (0, 4, new[] { 0, 1, 2, 1 }), (4, 3, new[] { 2, 2, 0 }) })
        {
            net.Feed(
                (layer, a, aShape, g, gShape) => b32.AccumulateLayer(layer, a.Select(v => (float)v).ToArray(), aShape, g.Select(v => (float)v).ToArray(), gShape),
                KfacExactnessTests.Rows(x, start, count), LossFunction.CrossEntropy, LossReduction.Mean, new double[count, 3], classes);
        }

        var op64 = b64.ToOperator();
        var op32 = b32.ToOperator();
        var d64 = op64.ToDense();
        var d32 = op32.ToDense().Select(v => (double)v).ToArray();
        Assert.True(DenseOracle.RelativeError(d32, d64) < 1e-5, $"operator {DenseOracle.RelativeError(d32, d64)}");
        var i64 = op64.Inverse(KfacInverseOptions.Plain(1e-2)).ToDense();
        var i32 = op32.Inverse(KfacInverseOptions.Plain(1e-2)).ToDense().Select(v => (double)v).ToArray();
        Assert.True(DenseOracle.RelativeError(i32, i64) < 1e-3, $"inverse {DenseOracle.RelativeError(i32, i64)}");
    }

    [Fact]
    public void Float32CholeskyFailure_IsRetriedInFloat64()
    {
        // A = [[1, 1], [1, 1]] + 1e-9·I: singular in float32 (1 + 1e-9 rounds to 1) but positive definite in float64.
        var model = new ModelSpec([LayerSpec.Linear("0", 2, 1, bias: false)]);
        var block = new KfacBlock<float>(model.Blocks[0]);
        block.GradientCovariance[0, 0] = 1;
        block.InputCovariance.Fill(1);
        var op = new KfacOperator<float>(new ManagedBackend(), model, [block]);
        var inverse = op.Inverse(KfacInverseOptions.Plain(1e-9)).ToDense();
        double d = 1e-9, g = 1 / (1 + d);
        double det = ((1 + d) * (1 + d)) - 1;
        double[] expected = [g * (1 + d) / det, -g / det, -g / det, g * (1 + d) / det];
        Assert.True(DenseOracle.RelativeError(inverse.Select(v => (double)v).ToArray(), expected) < 1e-6);
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => op.Inverse(new KfacInverseOptions { Damping = 1e-9, RetryInDoublePrecision = false }));
    }

    [Fact]
    public void SteadyStateProducts_AllocateNothing()
    {
        var builder = Build(separate: true);
        var op = builder.ToOperator();
        var inverse = op.Inverse(KfacInverseOptions.Heuristic(1e-3));
        var exact = op.Inverse(KfacInverseOptions.Exact(1e-3));
        var v = new double[op.Dimension];
        var y = new double[op.Dimension];
        v.AsSpan().Fill(0.5);
        op.Apply(v, y);
        inverse.Apply(v, y);
        exact.Apply(v, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            op.Apply(v, y);
            inverse.Apply(v, y);
            exact.Apply(v, y);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Multiply_RejectsBadShapesAndOverlap()
    {
        var op = Build(separate: false).ToOperator();
        var data = new double[op.Dimension * 2];
        Assert.Throws<ArgumentException>(() => op.Multiply(new ReadOnlySpan2D<double>(data, op.Dimension, 2), new Span2D<double>(new double[op.Dimension], op.Dimension, 1)));
        Assert.Throws<ArgumentException>(() => op.Multiply(new ReadOnlySpan2D<double>(data, op.Dimension, 2), new Span2D<double>(data, op.Dimension, 2)));
        Assert.Throws<ArgumentException>(() => op.Apply(new double[op.Dimension - 1], new double[op.Dimension]));
        Assert.Throws<ArgumentOutOfRangeException>(() => op.Inverse(KfacInverseOptions.Plain(-1)));
    }
}
