using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Demo.Optimizers;
using Curvature.Loss;
using Curvature.Optimizers;
using Xunit;
using KfacOracle = Curvature.Tests.Kfac.DenseOracle;

namespace Curvature.Tests.Demo;

public sealed class DemoCurvatureAdapterTests
{
    private const int Rows = 5;

    private static (Model Model, Batch Batch) CreateAutoencoderLike(int seed)
    {
        var random = new DemoRandom(seed);
        const int input = 4, output = 3;
        var inputs = new double[Rows * input];
        var targets = new double[Rows * output];
        random.FillGaussian(inputs);
        random.FillGaussian(targets);
        var data = Dataset.ForRegression(inputs, input, targets, output);
        var network = new Network(input, [(6, Activation.Tanh), (output, Activation.Identity)], 8, new ManagedBackend());
        network.Initialize(random);
        foreach (var layer in network.Layers)
        {
            random.FillGaussian(layer.Bias, 0.3);
        }

        var batch = data.CreateBatch(8);
        data.Slice(0, Rows, batch);
        return (new Model(network, LossKind.MeanSquaredError), batch);
    }

    [Theory]
    [InlineData(0, DampingMode.Plain)]
    [InlineData(1, DampingMode.Plain)]
    [InlineData(0, DampingMode.Heuristic)]
    public void KfacOptimizer_PreconditionedDirection_EqualsDenseOracleWithExplicitDampedInverses(int layerIndex, DampingMode mode)
    {
        const double damping = 0.05;
        var (model, batch) = CreateAutoencoderLike(11);
        model.ComputeLossAndGradients(batch);
        var layer = model.Layers[layerIndex];
        int dOut = layer.OutputSize, dIn = layer.InputSize + 1;

        // The joint gradient [∂W | ∂b], [D_out, D_in + 1].
        var gradient = new double[dOut * dIn];
        for (int i = 0; i < dOut; i++)
        {
            for (int j = 0; j < dIn; j++)
            {
                gradient[(i * dIn) + j] = j < dIn - 1 ? layer.WeightGradient[i, j] : layer.BiasGradient[i];
            }
        }

        // Oracle: the empirical Fisher's output vectors for MSE averaged over N·C entries, written out independently in
        // curvlinops' convention v = (1/N)(2/√C)(f − y) (FORMAT.md §3.1).
        var outputs = model.Outputs;
        int c = outputs.Width;
        var v = new double[Rows * c];
        for (int r = 0; r < Rows; r++)
        {
            for (int j = 0; j < c; j++)
            {
                v[(r * c) + j] = (1.0 / Rows) * (2.0 / Math.Sqrt(c)) * (outputs[r, j] - batch.Targets[r, j]);
            }
        }

        // Backpropagate v to get g (which carries the mean's 1/N); A = Σ [a | 1][a | 1]ᵀ / N, G = N Σ g gᵀ (curvlinops).
        model.BackpropagateOutputVectors(new ReadOnlySpan2D<double>(v, Rows, c));
        var a = new double[dIn, dIn];
        var g = new double[dOut, dOut];
        for (int r = 0; r < Rows; r++)
        {
            for (int i = 0; i < dIn; i++)
            {
                double ai = i < dIn - 1 ? layer.Input[r, i] : 1.0;
                for (int j = 0; j < dIn; j++)
                {
                    double aj = j < dIn - 1 ? layer.Input[r, j] : 1.0;
                    a[i, j] += ai * aj / Rows;
                }
            }

            for (int i = 0; i < dOut; i++)
            {
                for (int j = 0; j < dOut; j++)
                {
                    g[i, j] += Rows * layer.OutputGradient[r, i] * layer.OutputGradient[r, j];
                }
            }
        }

        // Plain: δ on each factor; π-damping (Martens & Grosse 2015, §6.3): G + (√δ/π)I, A + √δ·π I,
        // π = √((tr A / d_A) / (tr G / d_G)).
        double dampingG = damping, dampingA = damping;
        if (mode == DampingMode.Heuristic)
        {
            double pi = Math.Sqrt((Trace(a) / dIn) / (Trace(g) / dOut));
            dampingG = Math.Sqrt(damping) / pi;
            dampingA = Math.Sqrt(damping) * pi;
        }

        var gInverse = KfacOracle.Inverse(KfacOracle.AddIdentity(g, dampingG));
        var aInverse = KfacOracle.Inverse(KfacOracle.AddIdentity(a, dampingA));
        var expected = new double[dOut, dIn];
        for (int i = 0; i < dOut; i++)
        {
            for (int j = 0; j < dIn; j++)
            {
                double sum = 0;
                for (int k = 0; k < dOut; k++)
                {
                    for (int m = 0; m < dIn; m++)
                    {
                        sum += gInverse[i, k] * gradient[(k * dIn) + m] * aInverse[m, j];
                    }
                }

                expected[i, j] = sum;
            }
        }

        // The demo's optimizer, fed the same step (ComputeLossAndGradients again restores the loss-gradient state): its
        // preconditioned gradient replaces the model's gradients.
        model.ComputeLossAndGradients(batch);
        var optimizer = CurvatureTrainingOptimizer.Kfac(model, seed: 1, new KfacOptimizerOptions
        {
            Damping = damping, DampingMode = mode, DampingAdaptation = DampingAdaptation.Fixed, KlClip = null, InverseUpdatePeriod = 1,
        }, FisherType.Empirical);
        optimizer.ObserveCurvature(model, batch);
        optimizer.Optimizer.Precondition();
        var direction = new double[dOut * dIn];
        for (int i = 0; i < dOut; i++)
        {
            for (int j = 0; j < dIn; j++)
            {
                direction[(i * dIn) + j] = j < dIn - 1 ? layer.WeightGradient[i, j] : layer.BiasGradient[i];
            }
        }

        double scale = 0;
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        Assert.True(scale > 1e-6);
        for (int i = 0; i < dOut; i++)
        {
            for (int j = 0; j < dIn; j++)
            {
                Assert.True(Math.Abs(expected[i, j] - direction[(i * dIn) + j]) <= 1e-10 * scale, $"[{i}, {j}]: expected {expected[i, j]}, got {direction[(i * dIn) + j]}");
            }
        }
    }

    [Fact]
    public void CurvatureOptimizers_EveryOneLowersTheLossOnARepeatedBatch()
    {
        foreach (var (name, create) in new (string, Func<Model, ITrainingOptimizer>)[]
        {
            ("kfac", m => CurvatureTrainingOptimizer.Kfac(m, 1, new KfacOptimizerOptions { InverseUpdatePeriod = 2 })),
            ("ekfac", m => CurvatureTrainingOptimizer.Ekfac(m, 1, new EkfacOptimizerOptions { EigenbasisUpdatePeriod = 2 })),
            ("adafisher", m => CurvatureTrainingOptimizer.AdaFisher(m, new AdaFisherOptimizerOptions())),
        })
        {
            var (model, batch) = CreateAutoencoderLike(5);
            var optimizer = create(model);
            double first = optimizer.Step(model, batch), last = first;
            for (int step = 0; step < 5; step++)
            {
                last = optimizer.Step(model, batch);
            }

            Assert.True(double.IsFinite(last) && last < first, $"{name}: loss {first} -> {last}");
        }
    }

    private static double Trace(double[,] m)
    {
        double sum = 0;
        for (int i = 0; i < m.GetLength(0); i++)
        {
            sum += m[i, i];
        }

        return sum;
    }
}
