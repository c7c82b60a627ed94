using CommunityToolkit.HighPerformance;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Kfac;
using Curvature.Loss;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// K-FAC (Martens &amp; Grosse 2015) as an <see cref="ILayerPreconditioner"/>: one
/// <see cref="KfacLayerPreconditioner{T}"/> per dense layer over the joint <c>[W | b]</c> block (the input gets a ones
/// column, so <c>A</c> is <c>(D_in + 1)²</c>), factors from Monte-Carlo Fisher output gradients, running averages,
/// inverses refreshed every <see cref="KfacSettings.InverseUpdatePeriod"/> steps.
/// </summary>
public sealed class KfacAdapter : ILayerPreconditioner
{
    private readonly KfacSettings _settings;
    private readonly KfacLayerPreconditioner<double>[] _layers;
    private readonly double[][] _augmentedInputs;
    private readonly FisherVectorSource _vectors;

    /// <summary>Creates one preconditioner per layer of <paramref name="model"/> on its backend.</summary>
    public KfacAdapter(Model model, int seed, KfacSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        var options = new KfacPreconditionerOptions
        {
            Damping = settings.Damping,
            DampingMode = settings.DampingMode,
            EmaDecay = settings.EmaDecay,
            InverseUpdatePeriod = settings.InverseUpdatePeriod,
        };
        _layers = model.Layers.Select(l => new KfacLayerPreconditioner<double>(model.Backend, l.InputSize + 1, l.OutputSize, options)).ToArray();
        _augmentedInputs = model.Layers.Select(l => new double[l.Capacity * (l.InputSize + 1)]).ToArray();
        _vectors = new FisherVectorSource(settings.Fisher, seed);
    }

    /// <inheritdoc />
    public string Name => "K-FAC";

    /// <inheritdoc />
    public string Settings => _settings.Describe(_vectors.Description);

    /// <summary>The library preconditioner of layer <paramref name="layer"/> (for tests).</summary>
    public KfacLayerPreconditioner<double> Layer(int layer) => _layers[layer];

    /// <inheritdoc />
    public void UpdateCurvature(Model model, Batch batch, int step)
    {
        _vectors.Backpropagate(model, batch);
        var layers = model.Layers;
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var a = AugmentedInput.Fill(layer.Input, _augmentedInputs[l]);
            _layers[l].Update(a, _vectors.PerExampleGradient(l, layer.OutputSize));
        }
    }

    /// <inheritdoc />
    public void Precondition(int layer, ReadOnlySpan2D<double> gradient, Span2D<double> direction) =>
        _layers[layer].NaturalGradient(gradient, direction);
}
