using Curvature.AdaFisher;

namespace Curvature.Optimizers;

/// <summary>
/// Settings of <see cref="AdaFisherOptimizer{T}"/>: the shared <see cref="OptimizerOptions"/> plus the first-moment decay β
/// and the factor rule.
/// </summary>
/// <remarks>Defaults (principled mode): learning rate 1e-2 (the official 1e-3 is tuned for the official, min–max normalised
/// factors; with the principled factors 1e-2 trains the standard problems faster and without divergence), no heavy-ball
/// momentum (β is AdaFisher's momentum), fixed damping λ = 1e-3 (the official Λ), KL clipping κ = 1e-3 as a safety bound,
/// coupled weight decay (decoupled weight decay is AdaFisherW). <see cref="Official"/> gives the official code's
/// settings.</remarks>
public sealed record AdaFisherOptimizerOptions : OptimizerOptions
{
    /// <summary>Creates the options with AdaFisher's defaults.</summary>
    public AdaFisherOptimizerOptions()
    {
        LearningRate = 1e-2;
        Momentum = 0;
        KlClip = 1e-3;
        DampingAdaptation = DampingAdaptation.Fixed;
    }

    /// <summary>Decay β of the first moment <c>m ← β m + (1 − β) g</c> (default 0.9), bias-corrected by <c>1 − β^k</c>.</summary>
    public double Beta { get; init; } = 0.9;

    /// <summary>The factor rule (default <see cref="AdaFisherMode.Principled"/>).</summary>
    public AdaFisherMode Mode { get; init; } = AdaFisherMode.Principled;

    /// <summary>The official code's γ (official-compatible mode only): the running average keeps γ/10 of the old factor
    /// and adds γ/100 of the new one (default 0.8).</summary>
    public double OfficialGamma { get; init; } = 0.8;

    /// <summary>
    /// The official code's settings <c>AdaFisher(model, lr, beta, Lambda, gamma, TCov, weight_decay)</c> in
    /// <see cref="AdaFisherMode.OfficialCompatible"/> mode; <paramref name="decoupled"/> selects AdaFisherW.
    /// </summary>
    public static AdaFisherOptimizerOptions Official(double learningRate = 1e-3, double beta = 0.9, double lambda = 1e-3, double gamma = 0.8, int tCov = 100, double weightDecay = 0, bool decoupled = false) => new()
    {
        Mode = AdaFisherMode.OfficialCompatible,
        LearningRate = learningRate,
        Beta = beta,
        Damping = lambda,
        OfficialGamma = gamma,
        StatisticsUpdatePeriod = tCov,
        WeightDecay = weightDecay,
        WeightDecayMode = decoupled ? WeightDecayMode.Decoupled : WeightDecayMode.Coupled,
        KlClip = null,
    };

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(Beta >= 0 && Beta < 1, nameof(Beta), Beta, "β must lie in [0, 1).");
        Require(Mode is AdaFisherMode.Principled or AdaFisherMode.OfficialCompatible, nameof(Mode), Mode, "Unknown mode.");
        Require(OfficialGamma >= 0 && OfficialGamma < 1, nameof(OfficialGamma), OfficialGamma, "γ must lie in [0, 1).");
        Require(UpdateRule == UpdateRule.LearningRate, nameof(UpdateRule), UpdateRule, "AdaFisher steps with its learning rate (the quadratic-model rule is for K-FAC and EKFAC).");
    }
}
