using System.Globalization;
using Curvature.AdaFisher;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// AdaFisher (Gomes et al., ICLR 2025) in Curvature's principled mode as a whole <see cref="ITrainingOptimizer"/>:
/// diagonal Kronecker factors of the empirical Fisher per dense layer (running average, Tikhonov damping),
/// first moment with bias correction, no weight decay (like the baselines).
/// </summary>
public sealed class AdaFisherTrainingOptimizer : ITrainingOptimizer
{
    private readonly AdaFisherOptimizer<double> _optimizer;
    private readonly string[] _names;
    private readonly int[] _shape = new int[2];

    /// <summary>Registers every layer of <paramref name="model"/> (weight and bias) with an optimizer on its backend.</summary>
    public AdaFisherTrainingOptimizer(Model model, double learningRate, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(model);
        _optimizer = new AdaFisherOptimizer<double>(
            model.Backend,
            new AdaFisherOptions { LearningRate = learningRate, Epsilon = epsilon, WeightDecay = 0, Mode = AdaFisherMode.Principled },
            AdaFisherVariant.AdaFisher);
        var parameters = model.Parameters;
        var layers = model.Layers;
        _names = new string[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            _names[l] = $"layer{l + 1}";
            var weight = parameters[2 * l];
            var bias = parameters[(2 * l) + 1];
            _optimizer.AddLinear(
                _names[l],
                layers[l].InputSize,
                layers[l].OutputSize,
                new AdaFisherParameter<double>(weight.Name, weight.Values, weight.Gradient),
                new AdaFisherParameter<double>(bias.Name, bias.Values, bias.Gradient));
        }
    }

    /// <inheritdoc />
    public string Name => "AdaFisher";

    /// <inheritdoc />
    public string Settings => string.Create(CultureInfo.InvariantCulture, $"lr {_optimizer.LearningRate:g3}, epsilon {_optimizer.Options.Epsilon:g3}, decay {_optimizer.Options.FisherDecay:g3}, principled");

    /// <inheritdoc />
    public double Step(Model model, Batch batch)
    {
        double loss = model.ComputeLossAndGradients(batch);
        if (!double.IsFinite(loss))
        {
            return loss; // diverged: the trainer stops; the library rejects non-finite statistics
        }

        if (_optimizer.NeedsLayerStatistics)
        {
            var layers = model.Layers;
            for (int l = 0; l < layers.Count; l++)
            {
                var layer = layers[l];
                if (!layer.Input.TryGetSpan(out var input) || !layer.OutputGradient.TryGetSpan(out var outputGradient))
                {
                    throw new InvalidOperationException("The layer buffers are expected to be contiguous.");
                }

                _shape[0] = layer.Rows;
                _shape[1] = layer.InputSize;
                _optimizer.Observe(_names[l], input, _shape, outputGradient);
            }
        }

        _optimizer.Step();
        return loss;
    }
}
