using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Ekfac;
using Curvature.Kfac;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// EKFAC (George et al. 2018) as an <see cref="ILayerPreconditioner"/>: Curvature's training-loop
/// <see cref="EkfacPreconditioner{T}"/> over every dense layer (joint <c>[W | b]</c> blocks), the eigenbasis of the
/// running K-FAC factors refreshed every <see cref="KfacSettings.InverseUpdatePeriod"/> steps and the corrected
/// eigenvalues (scalings) re-estimated every step as a running average, from Monte-Carlo Fisher output gradients.
/// </summary>
public sealed class EkfacAdapter : ILayerPreconditioner
{
    private readonly KfacSettings _settings;
    private readonly EkfacPreconditioner<double> _preconditioner;
    private readonly FisherVectorSource _vectors;

    /// <summary>Creates the preconditioner for every layer of <paramref name="model"/> on its backend.</summary>
    public EkfacAdapter(Model model, int seed, KfacSettings settings, double scalingDecay = 0.75)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        var layers = model.Layers.Select(l => LayerSpec.Linear($"layer{l.Index + 1}", l.InputSize, l.OutputSize, bias: true)).ToArray();
        _preconditioner = new EkfacPreconditioner<double>(model.Backend, layers, new EkfacPreconditionerOptions
        {
            MaxBatchSize = model.Layers[0].Capacity,
            EigenbasisPeriod = settings.InverseUpdatePeriod,
            FactorDecay = settings.EmaDecay,
            ScalingDecay = scalingDecay,
            Damping = settings.Damping,
        });
        _vectors = new FisherVectorSource(settings.Fisher, seed);
    }

    /// <inheritdoc />
    public string Name => "EKFAC";

    /// <inheritdoc />
    public string Settings => _settings.Describe(_vectors.Description, withMode: false);

    /// <inheritdoc />
    public void UpdateCurvature(Model model, Batch batch, int step)
    {
        _vectors.Backpropagate(model, batch);
        var layers = model.Layers;
        for (int l = 0; l < layers.Count; l++)
        {
            _preconditioner.Update(l, layers[l].Input, _vectors.PerExampleGradient(l, layers[l].OutputSize));
        }
    }

    /// <inheritdoc />
    public void Precondition(int layer, ReadOnlySpan2D<double> gradient, Span2D<double> direction) =>
        _preconditioner.Apply(layer, gradient, direction);
}
