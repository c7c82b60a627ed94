using Curvature.Loss;
using Curvature.Models;

namespace Curvature.Kfac;

/// <summary>How K-FAC factors are accumulated over a data set (curvlinops' <c>KFACLinearOperator</c> arguments).</summary>
public sealed record KfacOptions
{
    /// <summary>N, the number of data points over all batches (curvlinops' <c>num_data</c>); required, ≥ 1.</summary>
    public required int NumData { get; init; }

    /// <summary>P, loss terms per example (e.g. sequence positions of a <c>[N, S, C]</c> output); 1 by default.</summary>
    public int LossTermsPerExample { get; init; } = 1;

    /// <summary>The loss reduction the gradients were computed for (sets the batch's loss correction κ_b).</summary>
    public LossReduction Reduction { get; init; } = LossReduction.Mean;

    /// <summary>Expand or reduce (weight sharing).</summary>
    public WeightSharing Approximation { get; init; } = WeightSharing.Expand;

    /// <summary>The Fisher type; only <see cref="FisherType.ForwardOnly"/> changes accumulation (G = I, gradients ignored).</summary>
    public FisherType Fisher { get; init; } = FisherType.Type2;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(NumData, 1, nameof(NumData));
        ArgumentOutOfRangeException.ThrowIfLessThan(LossTermsPerExample, 1, nameof(LossTermsPerExample));
        if (Reduction is not (LossReduction.Mean or LossReduction.Sum))
        {
            throw new ArgumentOutOfRangeException(nameof(Reduction), Reduction, "Unknown reduction.");
        }

        if (Approximation is not (WeightSharing.Expand or WeightSharing.Reduce))
        {
            throw new ArgumentOutOfRangeException(nameof(Approximation), Approximation, "Unknown approximation.");
        }
    }
}
