using Curvature.Ekfac;

namespace Curvature.Optimizers;

/// <summary>Settings of <see cref="EkfacOptimizer{T}"/>: the shared <see cref="OptimizerOptions"/> plus the eigenbasis
/// refresh period and the strategy of the eigenvalue correction.</summary>
/// <remarks>Defaults as <see cref="KfacOptimizerOptions"/>'s (η = 0.1, momentum 0.9, KL clipping κ = 1e-3, λ = 1e-3 adapted
/// by Levenberg–Marquardt), with the eigenbases refreshed every 10 steps and the scalings every statistics update.</remarks>
public sealed record EkfacOptimizerOptions : OptimizerOptions
{
    /// <summary>Creates the options with EKFAC's defaults (see the remarks).</summary>
    public EkfacOptimizerOptions()
    {
        KlClip = 1e-3;
    }

    /// <summary>Steps between recomputations of the eigenbases <c>Q_A</c>, <c>Q_G</c> from the running factors (George et
    /// al. 2018 refresh the basis every n steps and the scalings every step); ≥ 1.</summary>
    public int EigenbasisUpdatePeriod { get; init; } = 10;

    /// <summary>How the per-example gradients of weight-sharing layers are contracted (the cheaper one by default).</summary>
    public EkfacCorrectionStrategy CorrectionStrategy { get; init; } = EkfacCorrectionStrategy.Automatic;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(EigenbasisUpdatePeriod >= 1, nameof(EigenbasisUpdatePeriod), EigenbasisUpdatePeriod, "The eigenbasis update period must be at least 1.");
        Require(Enum.IsDefined(CorrectionStrategy), nameof(CorrectionStrategy), CorrectionStrategy, "Unknown correction strategy.");
    }
}
