using Curvature.Loss;
using Curvature.Models;

namespace Curvature.Optimizers.Internals;

/// <summary>The loss convention observations are scaled by (from the optimizer's options).</summary>
internal readonly record struct ObservationSettings(LossReduction Reduction, int LossTermsPerExample, WeightSharing DefaultSharing)
{
    /// <summary>The weight-sharing approximation for <paramref name="layer"/>.</summary>
    public WeightSharing SharingFor(LayerSpec layer) => layer.WeightSharing ?? DefaultSharing;

    /// <summary>κ of a batch of <paramref name="batchSize"/> examples: N·P (mean) or 1 (sum).</summary>
    public double GradientScale(int batchSize) => Reduction == LossReduction.Sum ? 1.0 : (double)batchSize * LossTermsPerExample;
}
