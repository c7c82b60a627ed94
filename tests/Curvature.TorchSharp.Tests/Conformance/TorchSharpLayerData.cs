using Curvature.Conformance;
using Curvature.Loss;
using TorchSharp;
using static TorchSharp.torch;
using CaseTensor = Curvature.Conformance.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Curvature.TorchSharp.Tests.Conformance;

/// <summary>
/// The <c>--via torchsharp</c> layer data: builds the case's model in TorchSharp from its parameters, runs each batch's
/// <c>X</c> forward under a <see cref="TorchLayerCapture{T}"/> and backpropagates the loss-side vectors through libtorch:
/// computed from the TorchSharp output for type-2 and empirical, the case's own draws (its last layer's <c>g</c>) for
/// Monte-Carlo, none for forward-only. For the empirical Fisher it also takes <c>g</c> from the training loss's own
/// backward (<see cref="TorchLayerCapture{T}.ObserveLossGradients"/>) and checks it against the vectors path. It checks
/// the TorchSharp output and the captured <c>a</c>, <c>g</c> against the stored ones too (1e-10).
/// </summary>
public sealed class TorchSharpLayerData : ILayerDataSource
{
    /// <summary>Tolerance for the recomputed outputs, inputs and gradients.</summary>
    public const double Tolerance = 1e-10;

    /// <inheritdoc />
    public string Name => "torchsharp";

    /// <inheritdoc />
    public IReadOnlyList<IReadOnlyDictionary<string, LayerBatch>> Collect(KfacCase kfacCase, KfacChecks checks)
    {
        ArgumentNullException.ThrowIfNull(kfacCase);
        ArgumentNullException.ThrowIfNull(checks);
        using var scope = NewDisposeScope();
        var model = CaseModel.Build(kfacCase.Source);
        var names = kfacCase.Model.Layers.Select(l => l.Name).ToList();
        using var capture = new TorchLayerCapture<double>(model, names);
        var result = new List<IReadOnlyDictionary<string, LayerBatch>>();
        for (int b = 0; b < kfacCase.Batches.Count; b++)
        {
            var batch = kfacCase.Batches[b];
            var x = CaseTensor.From(batch.GetProperty("X"));
            var y = CaseTensor.From(batch.GetProperty("y"));
            var storedOutput = CaseTensor.From(batch.GetProperty("output"));
            using var input = ToTorch(x, ScalarType.Float64);
            using var targets = ToTorch(y, kfacCase.Loss == LossFunction.CrossEntropy ? ScalarType.Int64 : ScalarType.Float64);

            TorchTensor output;
            using (capture.Record())
            {
                output = model.call(input);
            }

            checks.Compare($"output[{b}]", Data(output), storedOutput.Data, Tolerance);
            var observed = new CollectingObserver();
            if (kfacCase.Fisher == FisherType.MonteCarlo)
            {
                // The draws are random: backpropagate the case's own (its last layer's g, FORMAT.md §3.1).
                var last = CaseTensor.From(batch.GetProperty("layers").GetProperty(names[^1]).GetProperty("g"));
                using var vectors = ToTorch(last, ScalarType.Float64);
                capture.ObserveVectors(output, vectors, observed);
            }
            else
            {
                capture.ObserveLossVectors(output, targets, kfacCase.Loss, kfacCase.Reduction, kfacCase.Fisher, observed, kfacCase.McSamples);
            }

            CompareWithStored(batch, names, observed, checks, b);
            if (kfacCase.Fisher == FisherType.Empirical)
            {
                CheckTrainingLossPath(kfacCase, model, capture, input, targets, observed, checks, b);
            }

            result.Add(observed.Layers);
        }

        return result;
    }

    /// <summary>The empirical Fisher from the training loss's own backward must equal the one from the loss-side vectors.</summary>
    private static void CheckTrainingLossPath(KfacCase kc, nn.Module<TorchTensor, TorchTensor> model, TorchLayerCapture<double> capture, TorchTensor input,
        TorchTensor targets, CollectingObserver expected, KfacChecks checks, int b)
    {
        TorchTensor output;
        using (capture.Record(retainOutputGradients: true))
        {
            output = model.call(input);
        }

        var reduction = kc.Reduction == LossReduction.Mean ? nn.Reduction.Mean : nn.Reduction.Sum;
        using var loss = kc.Loss switch
        {
            LossFunction.CrossEntropy => nn.functional.cross_entropy(output, targets, reduction: reduction),
            LossFunction.MeanSquaredError => nn.functional.mse_loss(output, targets, reduction),
            _ => nn.functional.binary_cross_entropy_with_logits(output, targets, reduction: reduction),
        };
        model.zero_grad();
        loss.backward();
        var observed = new CollectingObserver();
        int c = checked((int)(kc.Loss == LossFunction.CrossEntropy ? output.shape[1] : output.shape[^1]));
        capture.ObserveLossGradients(observed, TorchLayerCapture<double>.EmpiricalFisherScale(kc.Loss, kc.Reduction, c));
        foreach (var (name, data) in expected.Layers)
        {
            var actual = observed.Layers[name];
            checks.Compare($"loss_gradient_path.a[{b}][{name}]", actual.A, data.A, Tolerance);
            if (!actual.GShape!.SequenceEqual(data.GShape!))
            {
                checks.Fail($"loss_gradient_path.g[{b}][{name}] has shape [{string.Join(", ", actual.GShape!)}], the vectors path [{string.Join(", ", data.GShape!)}]");
                continue;
            }

            checks.Compare($"loss_gradient_path.g[{b}][{name}]", actual.G!, data.G!, Tolerance);
        }

        model.zero_grad();
    }

    private static void CompareWithStored(System.Text.Json.JsonElement batch, List<string> names, CollectingObserver observed, KfacChecks checks, int b)
    {
        var layers = batch.GetProperty("layers");
        foreach (var name in names)
        {
            var io = layers.GetProperty(name);
            var mine = observed.Layers[name];
            var a = CaseTensor.From(io.GetProperty("a"));
            if (!mine.AShape.SequenceEqual(a.Shape))
            {
                checks.Fail($"a[{b}][{name}] has shape [{string.Join(", ", mine.AShape)}], the case [{string.Join(", ", a.Shape)}]");
                continue;
            }

            checks.Compare($"a[{b}][{name}]", mine.A, a.Data, Tolerance);
            if (io.TryGetProperty("g", out var ge) && ge.ValueKind != System.Text.Json.JsonValueKind.Null)
            {
                var g = CaseTensor.From(ge);
                if (mine.G is null || !mine.GShape!.SequenceEqual(g.Shape))
                {
                    checks.Fail($"g[{b}][{name}] has shape [{string.Join(", ", mine.GShape ?? [])}], the case [{string.Join(", ", g.Shape)}]");
                    continue;
                }

                checks.Compare($"g[{b}][{name}]", mine.G, g.Data, Tolerance);
            }
        }
    }

    private static TorchTensor ToTorch(CaseTensor t, ScalarType type)
    {
        long[] shape = [.. t.Shape.Select(d => (long)d)];
        return type == ScalarType.Int64
            ? tensor(t.Data.Select(v => (long)v).ToArray(), shape)
            : tensor(t.Data, shape, ScalarType.Float64);
    }

    private static double[] Data(TorchTensor t)
    {
        using var contiguous = t.detach().contiguous();
        return contiguous.data<double>().ToArray();
    }

    /// <summary>Keeps a copy of every observation.</summary>
    private sealed class CollectingObserver : ILayerObserver<double>
    {
        public Dictionary<string, LayerBatch> Layers { get; } = new(StringComparer.Ordinal);

        public void Observe(string layerName, ReadOnlySpan<double> a, ReadOnlySpan<int> aShape, ReadOnlySpan<double> g, ReadOnlySpan<int> gShape) =>
            Layers[layerName] = new LayerBatch(a.ToArray(), aShape.ToArray(), g.IsEmpty ? null : g.ToArray(), gShape.IsEmpty ? null : gShape.ToArray());
    }
}
