using Curvature.Loss;
using Curvature.Models;

namespace Curvature.Optimizers;

/// <summary>
/// Settings every Curvature optimizer shares: the step rule, damping control, clipping, weight decay, how curvature
/// statistics are averaged and refreshed, and the loss convention of the observations. Each optimizer has its own derived
/// options type with the defaults that suit it (see <see cref="KfacOptimizerOptions"/>, <see cref="EkfacOptimizerOptions"/>,
/// <see cref="AdaFisherOptimizerOptions"/>).
/// </summary>
/// <remarks>
/// <para><b>Loss convention.</b> Everything refers to one scalar training loss <c>L</c> with the declared
/// <see cref="Reduction"/>: for <see cref="LossReduction.Mean"/> (the default) <c>L = 1/(N·P) Σ ℓ</c> over the batch's N
/// examples and P loss terms per example. The parameter gradients are <c>∂L/∂θ</c> (what a framework's backward of that
/// loss produces); layer output gradients are those of <c>L</c> itself (empirical Fisher) or of the backpropagated Fisher
/// vectors of <see cref="BackpropagatedVectors"/> for the same loss and reduction (which carry the same 1/(N·P)). The
/// curvature blocks then approximate the Fisher / Gauss-Newton matrix of <c>L</c>: for one batch,
/// <c>A = Σ x xᵀ/(N·S)</c> and <c>G = κ Σ g gᵀ</c> with <c>κ = N·P</c> (mean) or 1 (sum), exactly as curvlinops scales
/// them, and the damping λ is in the units of that matrix.</para>
/// <para>Settings are validated when an optimizer is created; a rejected construction changes nothing.</para>
/// </remarks>
public abstract record OptimizerOptions
{
    /// <summary>How the preconditioned gradient becomes an update (default <see cref="UpdateRule.LearningRate"/>).</summary>
    public UpdateRule UpdateRule { get; init; } = UpdateRule.LearningRate;

    /// <summary>The learning rate η of <see cref="UpdateRule.LearningRate"/> (positive, finite).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>
    /// Optional schedule: the learning rate for a step index (0 for the first step); when set it replaces
    /// <see cref="LearningRate"/>. It must return a finite, non-negative value. Not written to checkpoints.
    /// </summary>
    public Func<long, double>? LearningRateSchedule { get; init; }

    /// <summary>Heavy-ball momentum μ ∈ [0, 1) of <see cref="UpdateRule.LearningRate"/>; with
    /// <see cref="UpdateRule.QuadraticModel"/>, 0 turns the adaptive momentum off.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay coefficient ≥ 0 (default 0).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Coupled (L2 in the gradient, the default) or decoupled weight decay.</summary>
    public WeightDecayMode WeightDecayMode { get; init; } = WeightDecayMode.Coupled;

    /// <summary>When set, the gradient (after coupled weight decay) is scaled down to this Euclidean norm if it is longer
    /// (as <c>torch.nn.utils.clip_grad_norm_</c>, over all parameters).</summary>
    public double? GradientClipNorm { get; init; }

    /// <summary>When set, the update δ is scaled down to this Euclidean norm if it is longer.</summary>
    public double? UpdateClipNorm { get; init; }

    /// <summary>
    /// When set (learning-rate rule only), the KL clipping of kfac-pytorch (Ba, Grosse &amp; Martens 2017): the preconditioned
    /// gradient <c>d</c> is scaled by <c>ν = min(1, √(κ / (η² Σ dᵀg)))</c>, which bounds the step's length in the Fisher
    /// norm, <c>η² dᵀ F d ≈ η² dᵀ g ≤ κ</c>.
    /// </summary>
    public double? KlClip { get; init; }

    /// <summary>The initial damping λ &gt; 0 (in the units of the curvature of <c>L</c>).</summary>
    public double Damping { get; init; } = 1e-3;

    /// <summary>Fixed damping, or Levenberg–Marquardt adaptation (which needs the loss passed to each step).</summary>
    public DampingAdaptation DampingAdaptation { get; init; } = DampingAdaptation.LevenbergMarquardt;

    /// <summary>T₁: steps between damping adaptations (Martens &amp; Grosse: 5; KFAC-JAX: 5); ≥ 1.</summary>
    public int DampingAdaptationInterval { get; init; } = 5;

    /// <summary>The per-step decay of the damping adaptation: <c>ω = decay^T₁</c> (Martens &amp; Grosse: 19/20); in (0, 1).</summary>
    public double DampingAdaptationDecay { get; init; } = 0.95;

    /// <summary>Lower bound of the adapted damping (&gt; 0).</summary>
    public double MinDamping { get; init; } = 1e-8;

    /// <summary>Upper bound of the adapted damping.</summary>
    public double MaxDamping { get; init; } = 1e8;

    /// <summary>The curvature of the quadratic model (quadratic-model rule and damping adaptation).</summary>
    public QuadraticModelCurvature QuadraticModelCurvature { get; init; } = QuadraticModelCurvature.Approximation;

    /// <summary>
    /// Decay β of the running averages of curvature statistics, in [0, 1): after k updates a statistic is
    /// <c>Σ_i β^(k−i) s_i / Σ_i β^(k−i)</c>, the bias-corrected exponential moving average of KFAC-JAX (its
    /// <c>curvature_ema</c>, 0.95). β = 0 keeps only the latest batch.
    /// </summary>
    public double StatisticsDecay { get; init; } = 0.95;

    /// <summary>The first updates of each statistic that are averaged uniformly (burn-in) before the moving average
    /// starts; ≥ 0 (default 0).</summary>
    public int BurnInUpdates { get; init; }

    /// <summary>Steps between curvature-statistics updates (layer observations are only used on those steps; see
    /// <see cref="CurvatureOptimizer{T}.NeedsObservations"/>); ≥ 1.</summary>
    public int StatisticsUpdatePeriod { get; init; } = 1;

    /// <summary>Where inverses and eigenbases are recomputed (default <see cref="RefreshMode.Synchronous"/>). Not written to
    /// checkpoints.</summary>
    public RefreshMode Refresh { get; init; } = RefreshMode.Synchronous;

    /// <summary>The reduction of the training loss <c>L</c> (default mean); see the remarks.</summary>
    public LossReduction Reduction { get; init; } = LossReduction.Mean;

    /// <summary>P, loss terms per example (e.g. sequence positions with one loss term each); ≥ 1.</summary>
    public int LossTermsPerExample { get; init; } = 1;

    /// <summary>Expand (default) or reduce, for layers whose <see cref="LayerSpec.WeightSharing"/> is not set.</summary>
    public WeightSharing WeightSharing { get; init; } = WeightSharing.Expand;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for an out-of-range setting.</summary>
    public virtual void Validate()
    {
        Require(UpdateRule is UpdateRule.LearningRate or UpdateRule.QuadraticModel, nameof(UpdateRule), UpdateRule, "Unknown update rule.");
        Require(double.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "The learning rate must be positive and finite.");
        Require(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "The momentum must lie in [0, 1).");
        Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "The weight decay must be finite and non-negative.");
        Require(WeightDecayMode is WeightDecayMode.Coupled or WeightDecayMode.Decoupled, nameof(WeightDecayMode), WeightDecayMode, "Unknown weight-decay mode.");
        RequirePositive(GradientClipNorm, nameof(GradientClipNorm));
        RequirePositive(UpdateClipNorm, nameof(UpdateClipNorm));
        RequirePositive(KlClip, nameof(KlClip));
        Require(double.IsFinite(Damping) && Damping > 0, nameof(Damping), Damping, "The damping must be positive and finite.");
        Require(DampingAdaptation is DampingAdaptation.Fixed or DampingAdaptation.LevenbergMarquardt, nameof(DampingAdaptation), DampingAdaptation, "Unknown damping adaptation.");
        Require(DampingAdaptationInterval >= 1, nameof(DampingAdaptationInterval), DampingAdaptationInterval, "The adaptation interval must be at least 1.");
        Require(DampingAdaptationDecay > 0 && DampingAdaptationDecay < 1, nameof(DampingAdaptationDecay), DampingAdaptationDecay, "The adaptation decay must lie in (0, 1).");
        Require(double.IsFinite(MinDamping) && MinDamping > 0, nameof(MinDamping), MinDamping, "The minimum damping must be positive and finite.");
        Require(double.IsFinite(MaxDamping) && MaxDamping >= MinDamping, nameof(MaxDamping), MaxDamping, "The maximum damping must be finite and at least the minimum.");
        Require(QuadraticModelCurvature is QuadraticModelCurvature.Approximation or QuadraticModelCurvature.CallerProducts, nameof(QuadraticModelCurvature), QuadraticModelCurvature, "Unknown quadratic-model curvature.");
        Require(StatisticsDecay >= 0 && StatisticsDecay < 1, nameof(StatisticsDecay), StatisticsDecay, "The statistics decay must lie in [0, 1).");
        Require(BurnInUpdates >= 0, nameof(BurnInUpdates), BurnInUpdates, "The burn-in must be non-negative.");
        Require(StatisticsUpdatePeriod >= 1, nameof(StatisticsUpdatePeriod), StatisticsUpdatePeriod, "The statistics update period must be at least 1.");
        Require(Refresh is RefreshMode.Synchronous or RefreshMode.Background, nameof(Refresh), Refresh, "Unknown refresh mode.");
        Require(Reduction is LossReduction.Mean or LossReduction.Sum, nameof(Reduction), Reduction, "Unknown loss reduction.");
        Require(LossTermsPerExample >= 1, nameof(LossTermsPerExample), LossTermsPerExample, "The loss terms per example must be at least 1.");
        Require(WeightSharing is WeightSharing.Expand or WeightSharing.Reduce, nameof(WeightSharing), WeightSharing, "Unknown weight-sharing approximation.");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when <paramref name="condition"/> is false.</summary>
    private protected static void Require(bool condition, string name, object value, string message)
    {
        if (!condition)
        {
            throw new ArgumentOutOfRangeException(name, value, message);
        }
    }

    private static void RequirePositive(double? value, string name)
    {
        if (value is { } v)
        {
            Require(double.IsFinite(v) && v > 0, name, v, "The value must be positive and finite when set.");
        }
    }
}
