using Curvature.Ekfac;

namespace Curvature.Optimizers;

/// <summary>Settings of <see cref="EkfacOptimizer{T}"/>: the shared <see cref="OptimizerOptions"/> plus the eigenbasis
/// refresh period and the strategy of the eigenvalue correction.</summary>
public sealed record EkfacOptimizerOptions : OptimizerOptions
{
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
