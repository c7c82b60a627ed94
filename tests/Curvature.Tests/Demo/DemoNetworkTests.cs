using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Demo.Optimizers;
using Xunit;

namespace Curvature.Tests.Demo;

public sealed class DemoNetworkTests
{
    private static (Model Model, Batch Batch) Create(LossKind loss, int seed)
    {
        var random = new DemoRandom(seed);
        const int n = 5, input = 4, output = 3;
        var inputs = new double[n * input];
        random.FillGaussian(inputs);
        Dataset data;
        if (loss == LossKind.CrossEntropy)
        {
            data = Dataset.ForClassification(inputs, input, [0, 2, 1, 1, 0], output);
        }
        else
        {
            var targets = new double[n * output];
            random.FillGaussian(targets);
            data = Dataset.ForRegression(inputs, input, targets, output);
        }

        var network = new Network(input, [(6, Activation.Tanh), (5, Activation.Relu), (output, Activation.Identity)], 8, new ManagedBackend());
        network.Initialize(random);
        foreach (var layer in network.Layers)
        {
            random.FillGaussian(layer.Bias, 0.3); // non-zero biases so that the bias gradients are exercised
        }

        var batch = data.CreateBatch(8);
        data.Slice(0, n, batch);
        return (new Model(network, loss), batch);
    }

    private static double LossAt(Model model, Batch batch) =>
        Curvature.Demo.NeuralNet.Loss.Evaluate(model.LossKind, model.Network.Forward(batch.Inputs), batch, Span2D<double>.Empty, out _);

    [Theory]
    [InlineData(LossKind.MeanSquaredError)]
    [InlineData(LossKind.CrossEntropy)]
    public void ComputeLossAndGradients_MatchesCentralFiniteDifferences(LossKind kind)
    {
        var (model, batch) = Create(kind, 11);
        double loss = model.ComputeLossAndGradients(batch);
        Assert.Equal(LossAt(model, batch), loss, 12);
        model.ComputeLossAndGradients(batch);
        var analytic = model.Parameters.Select(p => p.Gradient.ToArray()).ToArray();

        const double h = 1e-6;
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var values = model.Parameters[i].Values;
            for (int j = 0; j < values.Length; j++)
            {
                double saved = values.Span[j];
                values.Span[j] = saved + h;
                double plus = LossAt(model, batch);
                values.Span[j] = saved - h;
                double minus = LossAt(model, batch);
                values.Span[j] = saved;
                double numeric = (plus - minus) / (2 * h);
                Assert.True(Math.Abs(numeric - analytic[i][j]) <= 1e-7 * (1 + Math.Abs(numeric)),
                    $"{model.Parameters[i].Name}[{j}]: analytic {analytic[i][j]}, numeric {numeric}");
            }
        }
    }

    [Fact]
    public void BackpropagateOutputVectors_GivesOutputGradientsAsJacobianTransposeTimesVector_WithoutTouchingParameterGradients()
    {
        var (model, batch) = Create(LossKind.MeanSquaredError, 5);
        model.ComputeLossAndGradients(batch);
        var parameterGradients = model.Parameters.Select(p => p.Gradient.ToArray()).ToArray();
        int n = batch.Count, c = model.Network.OutputSize;
        var v = new double[n * c];
        new DemoRandom(9).FillGaussian(v);
        model.BackpropagateOutputVectors(new ReadOnlySpan2D<double>(v, n, c));

        for (int i = 0; i < model.Parameters.Count; i++)
        {
            Assert.Equal(parameterGradients[i], model.Parameters[i].Gradient.ToArray());
        }

        // Oracle: g_l = ∂(Σ v ⊙ f)/∂s_l. Perturb the pre-activation s_l through the bias of row r only:
        // ∂(v·f)/∂b_l[j] = Σ_r g_l[r, j], so compare column sums against finite differences on the bias.
        const double h = 1e-6;
        foreach (var layer in model.Layers)
        {
            var g = layer.OutputGradient.ToArray();
            for (int j = 0; j < layer.OutputSize; j++)
            {
                double expected = 0;
                for (int r = 0; r < n; r++)
                {
                    expected += g[r, j];
                }

                double saved = layer.Bias[j];
                layer.Bias[j] = saved + h;
                double plus = Dot(model.Network.Forward(batch.Inputs), v);
                layer.Bias[j] = saved - h;
                double minus = Dot(model.Network.Forward(batch.Inputs), v);
                layer.Bias[j] = saved;
                Assert.Equal((plus - minus) / (2 * h), expected, 6);
            }
        }
    }

    [Fact]
    public void LayerRecords_AreInputsAndLossGradientsWhoseProductIsTheWeightGradient()
    {
        var (model, batch) = Create(LossKind.CrossEntropy, 2);
        model.ComputeLossAndGradients(batch);
        Assert.Equal(batch.Inputs.ToArray(), model.Layers[0].Input.ToArray());
        foreach (var layer in model.Layers)
        {
            var a = layer.Input.ToArray();
            var g = layer.OutputGradient.ToArray();
            var dw = layer.WeightGradient.ToArray();
            for (int i = 0; i < layer.OutputSize; i++)
            {
                for (int j = 0; j < layer.InputSize; j++)
                {
                    double expected = 0;
                    for (int r = 0; r < batch.Count; r++)
                    {
                        expected += g[r, i] * a[r, j];
                    }

                    Assert.Equal(expected, dw[i, j], 12);
                }
            }
        }
    }

    [Fact]
    public void Data_SameSeed_IsIdentical_DifferentSeed_Differs()
    {
        var a = ManifoldData.Create(7, 16, 4).Train.Inputs.ToArray();
        var b = ManifoldData.Create(7, 16, 4).Train.Inputs.ToArray();
        var c = ManifoldData.Create(8, 16, 4).Train.Inputs.ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    private static double Dot(ReadOnlySpan2D<double> f, double[] v)
    {
        double sum = 0;
        for (int r = 0; r < f.Height; r++)
        {
            for (int j = 0; j < f.Width; j++)
            {
                sum += f[r, j] * v[(r * f.Width) + j];
            }
        }

        return sum;
    }
}
