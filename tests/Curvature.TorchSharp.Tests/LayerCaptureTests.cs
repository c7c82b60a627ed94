using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Modules = global::TorchSharp.Modules;

namespace Curvature.TorchSharp.Tests;

/// <summary>
/// The captured <c>a</c> and <c>g</c> against libtorch's own parameter gradients: for every supported layer the weight
/// gradient of the training loss is a fixed contraction of <c>a</c> and <c>g</c> (Linear: Σ g aᵀ; Conv2d: Σ g patchesᵀ;
/// norm layers: Σ g ⊙ x̂; Embedding: Σ g per index), so a wrong <c>a</c>, a wrong <c>g</c> or a wrong layout fails.
/// </summary>
public abstract class LayerCaptureTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ScalarType Type = Torch.TypeOf<T>();
    private static readonly double Tol = Torch.Tolerance<T>();

    [Fact]
    public void Linear_WithWeightSharing_GradientsReproduceTheWeightGradients()
    {
        manual_seed(11);
        var model = nn.Sequential(("0", nn.Linear(5, 4)), ("1", nn.Tanh()), ("2", nn.Linear(4, 3))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([6, 2, 5], Type);
        using var y = randn([6, 2, 3], Type);
        Tensor output;
        using (capture.Record(retainOutputGradients: true))
        {
            output = model.call(x);
        }

        using var loss = nn.functional.mse_loss(output, y);
        loss.backward();
        var observed = new RecordingObserver<T>();
        capture.ObserveLossGradients(observed);

        Assert.Equal(["0", "2"], observed.Order);
        Assert.Equal([6, 2, 5], observed.Layers["0"].AShape);
        Assert.Equal([1, 6, 2, 4], observed.Layers["0"].GShape);
        Assert.Equal(Torch.Doubles<T>(x), observed.Layers["0"].A.Select(double.CreateChecked));
        foreach (var name in new[] { "0", "2" })
        {
            var layer = (Modules.Linear)Child(model, name);
            var (a, _, g, _) = observed.Layers[name];
            int dIn = (int)layer.in_features, dOut = (int)layer.out_features, rows = a.Length / dIn;
            var dW = new double[dOut * dIn];
            var db = new double[dOut];
            for (int r = 0; r < rows; r++)
            {
                for (int o = 0; o < dOut; o++)
                {
                    double go = double.CreateChecked(g[(r * dOut) + o]);
                    db[o] += go;
                    for (int i = 0; i < dIn; i++)
                    {
                        dW[(o * dIn) + i] += go * double.CreateChecked(a[(r * dIn) + i]);
                    }
                }
            }

            Torch.AssertClose(Torch.Doubles<T>(layer.weight!.grad!), dW, Tol, $"{name}.weight");
            Torch.AssertClose(Torch.Doubles<T>(layer.bias!.grad!), db, Tol, $"{name}.bias");
        }
    }

    [Fact]
    public void Conv2d_WithStridePaddingDilation_GradientsReproduceTheWeightGradients()
    {
        manual_seed(12);
        var model = nn.Sequential(("0", nn.Conv2d(2, 3, (2, 3), stride: (2, 1), padding: (1, 0), dilation: (1, 2))), ("1", nn.ReLU()), ("2", nn.Flatten()), ("3", nn.Linear(3 * 4 * 3, 2))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([4, 2, 6, 7], Type);
        using var y = randint(0, 2, [4]);
        Tensor output;
        using (capture.Record(retainOutputGradients: true))
        {
            output = model.call(x);
        }

        using var loss = nn.functional.cross_entropy(output, y);
        loss.backward();
        var observed = new RecordingObserver<T>();
        capture.ObserveLossGradients(observed);

        var conv = (Modules.Conv2d)Child(model, "0");
        var info = capture.Model.Layer("0");
        var kfac = info.ToLayerSpec();
        var (a, aShape, g, gShape) = observed.Layers["0"];
        Assert.Equal([4, 2, 6, 7], aShape);
        Assert.Equal([1, 4, 3, 4, 3], gShape);
        var shape = KfacWeightSharing.Describe(kfac, aShape, gShape);
        int rows = KfacWeightSharing.InputRows(shape, WeightSharing.Expand);
        var patches = new T[rows * kfac.WeightInputSize];
        var grads = new T[rows * kfac.OutputSize];
        KfacWeightSharing.FormatInputs(kfac, a, shape, WeightSharing.Expand, false, new Span2D<T>(patches, rows, kfac.WeightInputSize));
        KfacWeightSharing.FormatGradients(kfac, g, shape, WeightSharing.Expand, new Span2D<T>(grads, rows, kfac.OutputSize));
        var dW = new double[kfac.OutputSize * kfac.WeightInputSize];
        var db = new double[kfac.OutputSize];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < kfac.OutputSize; o++)
            {
                double go = double.CreateChecked(grads[(r * kfac.OutputSize) + o]);
                db[o] += go;
                for (int f = 0; f < kfac.WeightInputSize; f++)
                {
                    dW[(o * kfac.WeightInputSize) + f] += go * double.CreateChecked(patches[(r * kfac.WeightInputSize) + f]);
                }
            }
        }

        Torch.AssertClose(Torch.Doubles<T>(conv.weight!.grad!), dW, Tol, "conv.weight");
        Torch.AssertClose(Torch.Doubles<T>(conv.bias!.grad!), db, Tol, "conv.bias");
    }

    [Fact]
    public void BatchNorm2d_InTraining_CapturesTheNormalisedInput()
    {
        manual_seed(13);
        var model = nn.Sequential(("bn", nn.BatchNorm2d(3, eps: 1e-3)), ("flat", nn.Flatten()), ("fc", nn.Linear(3 * 2 * 2, 2))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([5, 3, 2, 2], Type) * 3 + 1;
        var (a, g) = TrainStep(model, capture, x, "bn");

        // x̂ from the batch statistics (biased variance), per channel over N, H, W.
        var xs = Torch.Doubles<T>(x);
        var expected = Normalise(xs, groups: 3, outer: 5, inner: 4, eps: 1e-3);
        Torch.AssertClose(expected, a.Select(double.CreateChecked).ToArray(), Tol * 10, "x̂");
        AssertScaleShiftGradients((Modules.BatchNorm)Child(model, "bn"), a, g, channels: 3, outer: 5, inner: 4);
    }

    [Fact]
    public void BatchNorm1d_InEvaluation_UsesTheRunningStatistics()
    {
        manual_seed(14);
        var model = nn.Sequential(("bn", nn.BatchNorm1d(4)), ("fc", nn.Linear(4, 2))).to(Type);
        using (no_grad())
        {
            using var warm = randn([16, 4], Type) * 2 - 1;
            model.call(warm).Dispose(); // moves the running statistics away from (0, 1)
        }

        model.eval();
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([6, 4], Type);
        var (a, g) = TrainStep(model, capture, x, "bn");

        var bn = (Modules.BatchNorm)Child(model, "bn");
        var mean = Torch.Doubles<T>(bn.running_mean!);
        var variance = Torch.Doubles<T>(bn.running_var!);
        var xs = Torch.Doubles<T>(x);
        var expected = new double[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            int c = i % 4;
            expected[i] = (xs[i] - mean[c]) / Math.Sqrt(variance[c] + 1e-5);
        }

        Assert.NotEqual(0.0, mean[0]);
        Torch.AssertClose(expected, a.Select(double.CreateChecked).ToArray(), Tol * 10, "x̂ (running statistics)");
        AssertScaleShiftGradients(bn, a, g, channels: 4, outer: 6, inner: 1);
    }

    [Fact]
    public void LayerNorm_CapturesTheNormalisedInput()
    {
        manual_seed(15);
        var model = nn.Sequential(("ln", nn.LayerNorm([2, 3], eps: 1e-4)), ("flat", nn.Flatten()), ("fc", nn.Linear(6, 2))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([5, 2, 3], Type) * 2 + 0.5;
        var (a, g) = TrainStep(model, capture, x, "ln");

        var expected = Normalise(Torch.Doubles<T>(x), groups: 1, outer: 5, inner: 6, eps: 1e-4, perRow: true);
        Torch.AssertClose(expected, a.Select(double.CreateChecked).ToArray(), Tol * 10, "x̂");
        var ln = (Modules.LayerNorm)Child(model, "ln");
        var dW = new double[6];
        var db = new double[6];
        for (int i = 0; i < a.Length; i++)
        {
            dW[i % 6] += double.CreateChecked(g[i]) * double.CreateChecked(a[i]);
            db[i % 6] += double.CreateChecked(g[i]);
        }

        Torch.AssertClose(Torch.Doubles<T>(ln.weight!.grad!), dW, Tol, "ln.weight");
        Torch.AssertClose(Torch.Doubles<T>(ln.bias!.grad!), db, Tol, "ln.bias");
    }

    [Fact]
    public void Embedding_CapturesTheIndices_AndTheirGradients()
    {
        manual_seed(16);
        var model = nn.Sequential(("emb", nn.Embedding(10, 4)), ("flat", nn.Flatten()), ("fc", nn.Linear(12, 2))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randint(0, 10, [5, 3]);
        var (a, g) = TrainStep(model, capture, x, "emb");

        var indices = x.data<long>().ToArray();
        Assert.Equal(indices.Select(i => (double)i), a.Select(double.CreateChecked));
        var dW = new double[10 * 4];
        for (int r = 0; r < indices.Length; r++)
        {
            for (int j = 0; j < 4; j++)
            {
                dW[(indices[r] * 4) + j] += double.CreateChecked(g[(r * 4) + j]);
            }
        }

        Torch.AssertClose(Torch.Doubles<T>(((Modules.Embedding)Child(model, "emb")).weight!.grad!), dW, Tol, "emb.weight");
    }

    [Theory]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Mean)]
    [InlineData(LossFunction.CrossEntropy, LossReduction.Sum)]
    [InlineData(LossFunction.MeanSquaredError, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Mean)]
    [InlineData(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum)]
    public void EmpiricalVectors_EqualTheScaledTrainingGradients(LossFunction lossFunction, LossReduction reduction)
    {
        // Sequence outputs: [N, S, C] for MSE/BCE, [N, C, S] (classes second) for cross-entropy.
        manual_seed(17);
        var model = nn.Sequential(("0", nn.Linear(3, 5)), ("1", nn.ReLU()), ("2", nn.Linear(5, 4))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([6, 2, 3], Type);
        bool ce = lossFunction == LossFunction.CrossEntropy;
        using var targets = ce ? randint(0, 4, [6, 2]) : lossFunction == LossFunction.MeanSquaredError ? randn([6, 2, 4], Type) : rand([6, 2, 4], Type);

        Tensor Forward(bool retain)
        {
            using (capture.Record(retain))
            {
                var o = model.call(x);
                return ce ? o.permute(0, 2, 1) : o;
            }
        }

        var vectorsPath = new RecordingObserver<T>();
        using (var output = Forward(false))
        {
            capture.ObserveLossVectors(output, targets, lossFunction, reduction, FisherType.Empirical, vectorsPath);
        }

        var gradientPath = new RecordingObserver<T>();
        using (var output = Forward(true))
        {
            var r = reduction == LossReduction.Mean ? nn.Reduction.Mean : nn.Reduction.Sum;
            using var loss = ce ? nn.functional.cross_entropy(output, targets, reduction: r)
                : lossFunction == LossFunction.MeanSquaredError ? nn.functional.mse_loss(output, targets, r)
                : nn.functional.binary_cross_entropy_with_logits(output, targets, reduction: r);
            loss.backward();
            capture.ObserveLossGradients(gradientPath, TorchLayerCapture<T>.EmpiricalFisherScale(lossFunction, reduction, 4));
        }

        foreach (var name in new[] { "0", "2" })
        {
            Assert.Equal(vectorsPath.Layers[name].GShape, gradientPath.Layers[name].GShape);
            Torch.AssertClose<T>(vectorsPath.Layers[name].G, gradientPath.Layers[name].G, Tol * 10, $"g of {name}");
        }

        Assert.Equal([1, 6, 2, 4], vectorsPath.Layers["2"].GShape);
    }

    [Fact]
    public void Type2Vectors_AtTheLastLayer_AreTheLossSideVectors()
    {
        manual_seed(18);
        var model = nn.Sequential(("0", nn.Linear(4, 6)), ("1", nn.Tanh()), ("2", nn.Linear(6, 3))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([5, 4], Type);
        Tensor output;
        using (capture.Record())
        {
            output = model.call(x);
        }

        var observed = new RecordingObserver<T>();
        capture.ObserveLossVectors(output, null, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Type2, observed);

        var logits = Torch.Values<T>(output);
        var expected = new T[3 * 5 * 3];
        BackpropagatedVectors.ComputeCrossEntropy(LossReduction.Mean, FisherType.Type2, new ReadOnlySpan2D<T>(logits, 5, 3), [], expected);
        Assert.Equal([3, 5, 3], observed.Layers["2"].GShape);
        Assert.Equal(expected, observed.Layers["2"].G);
        Assert.Equal([3, 5, 6], observed.Layers["0"].GShape);

        // The same vectors given explicitly give the same gradients everywhere.
        var given = new RecordingObserver<T>();
        using var vectors = tensor(expected.Select(double.CreateChecked).ToArray(), new long[] { 3, 5, 3 }, Type);
        capture.ObserveVectors(output, vectors, given);
        Assert.Equal(observed.Layers["0"].G, given.Layers["0"].G);
        Assert.Null(model.parameters().First().grad);
    }

    [Fact]
    public void MonteCarloVectors_FollowTheRandomSource()
    {
        manual_seed(19);
        var model = nn.Sequential(("0", nn.Linear(4, 3))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        using var x = randn([7, 4], Type);
        Tensor output;
        using (capture.Record())
        {
            output = model.call(x);
        }

        var first = new RecordingObserver<T>();
        var second = new RecordingObserver<T>();
        capture.ObserveLossVectors(output, null, LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum, FisherType.MonteCarlo, first, mcSamples: 2, random: new Random(5));
        capture.ObserveLossVectors(output, null, LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum, FisherType.MonteCarlo, second, mcSamples: 2, random: new Random(5));

        var expected = new T[2 * 7 * 3];
        BackpropagatedVectors.Compute(LossFunction.BinaryCrossEntropyWithLogits, LossReduction.Sum, FisherType.MonteCarlo, new ReadOnlySpan2D<T>(Torch.Values<T>(output), 7, 3), default, expected, 2, new Random(5));
        Assert.Equal(expected, first.Layers["0"].G);
        Assert.Equal(first.Layers["0"].G, second.Layers["0"].G);
    }

    [Fact]
    public void ForwardOnly_DeliversInputsWithoutGradients_AndTheBuilderUsesThem()
    {
        manual_seed(20);
        var model = nn.Sequential(("0", nn.Linear(4, 3)), ("1", nn.ReLU()), ("2", nn.Linear(3, 2))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        var builder = new KfacFactorBuilder<T>(new Curvature.Backends.Managed.ManagedBackend(), capture.Model.ToModelSpec(), new KfacOptions { NumData = 5, Fisher = FisherType.ForwardOnly });
        using var x = randn([5, 4], Type);
        Tensor output;
        using (capture.Record())
        {
            output = model.call(x);
        }

        var observed = new RecordingObserver<T>();
        capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.ForwardOnly, observed);
        capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.ForwardOnly, new KfacFactorBuilderObserver<T>(builder));

        Assert.Empty(observed.Layers["0"].G);
        Assert.Empty(observed.Layers["0"].GShape);
        var manual = new KfacFactorBuilder<T>(new Curvature.Backends.Managed.ManagedBackend(), capture.Model.ToModelSpec(), new KfacOptions { NumData = 5, Fisher = FisherType.ForwardOnly });
        foreach (var (name, (a, aShape, _, _)) in observed.Layers)
        {
            manual.AccumulateLayer(name, a, aShape, [], []);
        }

        for (int i = 0; i < builder.Blocks.Count; i++)
        {
            Assert.Equal(manual.Blocks[i].InputCovariance.ToArray(), builder.Blocks[i].InputCovariance.ToArray());
        }
    }

    [Fact]
    public void FactorBuilderObserver_AccumulatesExactlyWhatWasObserved_AndIgnoresOtherLayers()
    {
        manual_seed(21);
        var model = nn.Sequential(("0", nn.Linear(4, 5)), ("ln", nn.LayerNorm(5)), ("2", nn.Linear(5, 3))).to(Type);
        using var capture = new TorchLayerCapture<T>(model);
        var backend = new Curvature.Backends.Managed.ManagedBackend();
        var options = new KfacOptions { NumData = 12, Fisher = FisherType.Type2 };
        // The operator path takes the Linear and Conv2d layers; the LayerNorm's observations are ignored by the sink.
        var operatorModel = new ModelSpec(capture.Model.Layers.Where(l => l.Kind is TorchLayerKind.Linear or TorchLayerKind.Conv2d).Select(l => l.ToLayerSpec()));
        var builder = new KfacFactorBuilder<T>(backend, operatorModel, options);
        var manual = new KfacFactorBuilder<T>(backend, operatorModel, options);
        var sink = new KfacFactorBuilderObserver<T>(builder);
        for (int step = 0; step < 2; step++)
        {
            using var x = randn([6, 4], Type);
            Tensor output;
            using (capture.Record())
            {
                output = model.call(x);
            }

            var observed = new RecordingObserver<T>();
            capture.ObserveLossVectors(output, null, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Type2, observed);
            capture.ObserveLossVectors(output, null, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Type2, sink);
            Assert.Equal(["0", "ln", "2"], observed.Order);
            foreach (var name in new[] { "0", "2" })
            {
                var (a, aShape, g, gShape) = observed.Layers[name];
                manual.AccumulateLayer(name, a, aShape, g, gShape);
            }
        }

        for (int i = 0; i < builder.Blocks.Count; i++)
        {
            Assert.Equal(manual.Blocks[i].InputCovariance.ToArray(), builder.Blocks[i].InputCovariance.ToArray());
            Assert.Equal(manual.Blocks[i].GradientCovariance.ToArray(), builder.Blocks[i].GradientCovariance.ToArray());
        }

        Assert.NotEqual(T.Zero, builder.Blocks[0].GradientCovariance[0, 0]);
    }

    private static (T[] A, T[] G) TrainStep(nn.Module<Tensor, Tensor> model, TorchLayerCapture<T> capture, Tensor x, string layer)
    {
        Tensor output;
        using (capture.Record(retainOutputGradients: true))
        {
            output = model.call(x);
        }

        using var target = zeros_like(output);
        using var loss = (output - 0.3).square().sum() * 0.5 + output.sin().sum();
        loss.backward();
        var observed = new RecordingObserver<T>();
        capture.ObserveLossGradients(observed);
        return (observed.Layers[layer].A, observed.Layers[layer].G);
    }

    /// <summary>(x − mean) / √(var + ε) per group: values laid out [outer, groups, inner] (perRow: per outer index over inner).</summary>
    private static double[] Normalise(double[] x, int groups, int outer, int inner, double eps, bool perRow = false)
    {
        var result = new double[x.Length];
        int sets = perRow ? outer : groups;
        for (int s = 0; s < sets; s++)
        {
            var idx = perRow
                ? Enumerable.Range(s * inner, inner).ToList()
                : [.. Enumerable.Range(0, outer).SelectMany(n => Enumerable.Range(((n * groups) + s) * inner, inner))];
            double mean = idx.Average(i => x[i]);
            double variance = idx.Average(i => (x[i] - mean) * (x[i] - mean));
            foreach (int i in idx)
            {
                result[i] = (x[i] - mean) / Math.Sqrt(variance + eps);
            }
        }

        return result;
    }

    private static void AssertScaleShiftGradients(Modules.BatchNorm bn, T[] a, T[] g, int channels, int outer, int inner)
    {
        var dW = new double[channels];
        var db = new double[channels];
        for (int n = 0; n < outer; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int i = 0; i < inner; i++)
                {
                    int k = (((n * channels) + c) * inner) + i;
                    dW[c] += double.CreateChecked(g[k]) * double.CreateChecked(a[k]);
                    db[c] += double.CreateChecked(g[k]);
                }
            }
        }

        Torch.AssertClose(Torch.Doubles<T>(bn.weight!.grad!), dW, Tol * 10, "bn.weight");
        Torch.AssertClose(Torch.Doubles<T>(bn.bias!.grad!), db, Tol * 10, "bn.bias");
    }

    private static nn.Module Child(nn.Module model, string name) => model.named_modules().Single(m => m.name == name).module;
}

public sealed class FloatLayerCaptureTests : LayerCaptureTests<float>;

public sealed class DoubleLayerCaptureTests : LayerCaptureTests<double>;
