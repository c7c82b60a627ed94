using Curvature.Damping;

namespace Curvature.Optimizers;

/// <summary>Settings of <see cref="KfacOptimizer{T}"/>: the shared <see cref="OptimizerOptions"/> plus the inverse refresh
/// period and how the damping λ is split between the Kronecker factors.</summary>
/// <remarks>Defaults that train the standard problems (classifier, deep autoencoder, convolutional classifier, weight-shared
/// sequence model, LayerNorm + embedding model) without tuning: learning-rate rule with η = 0.1 and momentum 0.9 as
/// kfac-pytorch's examples, KL clipping κ = 1e-3 (kfac-pytorch's default, which bounds every step in the Fisher norm),
/// damping λ = 1e-3 adapted by Levenberg–Marquardt every 5 steps, π-damping, statistics averaged with decay 0.95
/// (KFAC-JAX), inverses refreshed every 10 steps (kfac-pytorch).</remarks>
public sealed record KfacOptimizerOptions : OptimizerOptions
{
    /// <summary>Creates the options with K-FAC's defaults (see the remarks).</summary>
    public KfacOptimizerOptions()
    {
        KlClip = 1e-3;
    }

    /// <summary>Steps between recomputations of the damped factor inverses (KFAC-JAX: 5, kfac-pytorch: 10, Martens &amp;
    /// Grosse: 20); ≥ 1. Between refreshes the cached inverses are used with the running factors they were built from.</summary>
    public int InverseUpdatePeriod { get; init; } = 10;

    /// <summary>
    /// How λ damps a Kronecker block: <see cref="DampingMode.Heuristic"/> (the default; π-damping of Martens &amp; Grosse
    /// 2015, §6.3, as KFAC-JAX, kfac-pytorch and ASDL: <c>(G + √λ/π)⁻¹ ⊗ (A + √λ·π)⁻¹</c>), <see cref="DampingMode.Plain"/>
    /// (λ on each factor), <see cref="DampingMode.Exact"/> (<c>(G ⊗ A + λ)⁻¹</c> through eigendecompositions) or
    /// <see cref="DampingMode.TraceScaled"/> (λ·tr(F)/n on each factor).
    /// </summary>
    public DampingMode DampingMode { get; init; } = DampingMode.Heuristic;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(InverseUpdatePeriod >= 1, nameof(InverseUpdatePeriod), InverseUpdatePeriod, "The inverse update period must be at least 1.");
        Require(DampingMode is DampingMode.Plain or DampingMode.Heuristic or DampingMode.Exact or DampingMode.TraceScaled, nameof(DampingMode), DampingMode, "Unknown damping mode.");
    }
}
