namespace Curvature.AdaFisher;

/// <summary>
/// Configuration of <see cref="AdaFisherOptimizer{T}"/>. The defaults are the seed's (learning rate 1e-3, Fisher
/// decay 0.95, epsilon 1e-6, block size 64, weight decay 0.01, bias correction on, at most 1000 blocks, Fisher
/// refreshed every step) in the <see cref="AdaFisherMode.Principled"/> mode; <see cref="Official"/> gives the
/// official code's defaults.
/// </summary>
/// <remarks>
/// Meaning per mode: <see cref="FisherDecay"/> is the EMA decay γ (principled) or the official γ whose running-average
/// constants are γ/10 and γ/100; <see cref="Epsilon"/> is the Tikhonov damping (principled) or the official Λ;
/// <see cref="FisherUpdateFrequency"/> is the official <c>TCov</c>. <see cref="BlockSize"/> and
/// <see cref="MaxBlocks"/> shape the block-diagonal empirical Fisher of parameters registered without a layer
/// (principled mode only).
/// </remarks>
public sealed record AdaFisherOptions
{
    /// <summary>Learning rate (default 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Decay γ of the Fisher running average (default 0.95).</summary>
    public double FisherDecay { get; init; } = 0.95;

    /// <summary>Damping added to every Fisher entry (default 1e-6).</summary>
    public double Epsilon { get; init; } = 1e-6;

    /// <summary>Block size of the block-diagonal Fisher for unstructured parameters (default 64).</summary>
    public int BlockSize { get; init; } = 64;

    /// <summary>Weight decay coefficient (default 0.01); coupled or decoupled by <see cref="AdaFisherVariant"/>.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Whether the first moment is bias-corrected by <c>1 − β^k</c> (default true; the official code always is).</summary>
    public bool BiasCorrection { get; init; } = true;

    /// <summary>Maximum number of full blocks per unstructured parameter (default 1000); the rest uses a diagonal Fisher.</summary>
    public int MaxBlocks { get; init; } = 1000;

    /// <summary>Factors are refreshed on steps <c>t</c> with <c>t mod FisherUpdateFrequency = 0</c> (default 1; official <c>TCov</c>).</summary>
    public int FisherUpdateFrequency { get; init; } = 1;

    /// <summary>First-moment decay β (default 0.9).</summary>
    public double Beta { get; init; } = 0.9;

    /// <summary>Factor rule (default <see cref="AdaFisherMode.Principled"/>).</summary>
    public AdaFisherMode Mode { get; init; } = AdaFisherMode.Principled;

    /// <summary>
    /// Principled mode: the output gradients come from a loss averaged over the batch, so they are multiplied by the
    /// batch size N before squaring (default true). Set false for a sum-reduced loss. Ignored by the official mode.
    /// </summary>
    public bool OutputGradientsFromMeanLoss { get; init; } = true;

    /// <summary>The seed's preset for language models: lr 3e-4, decay 0.99, epsilon 1e-8, block 128, weight decay 0.1, 2000 blocks.</summary>
    public static AdaFisherOptions ForLanguageModels() => new()
    {
        LearningRate = 3e-4,
        FisherDecay = 0.99,
        Epsilon = 1e-8,
        BlockSize = 128,
        WeightDecay = 0.1,
        BiasCorrection = true,
        MaxBlocks = 2000,
        FisherUpdateFrequency = 1,
    };

    /// <summary>The seed's preset for image classification: lr 1e-3, decay 0.95, epsilon 1e-6, block 64, weight decay 1e-4, 500 blocks.</summary>
    public static AdaFisherOptions ForImageClassification() => new()
    {
        LearningRate = 1e-3,
        FisherDecay = 0.95,
        Epsilon = 1e-6,
        BlockSize = 64,
        WeightDecay = 1e-4,
        BiasCorrection = true,
        MaxBlocks = 500,
        FisherUpdateFrequency = 1,
    };

    /// <summary>
    /// The official code's settings (<c>AdaFisher(model, lr=1e-3, beta=0.9, Lambda=1e-3, gamma=0.8, TCov=100,
    /// weight_decay=0)</c>) in <see cref="AdaFisherMode.OfficialCompatible"/> mode.
    /// </summary>
    public static AdaFisherOptions Official(
        double learningRate = 1e-3,
        double beta = 0.9,
        double lambda = 1e-3,
        double gamma = 0.8,
        int tCov = 100,
        double weightDecay = 0) => new()
    {
        Mode = AdaFisherMode.OfficialCompatible,
        LearningRate = learningRate,
        Beta = beta,
        Epsilon = lambda,
        FisherDecay = gamma,
        FisherUpdateFrequency = tCov,
        WeightDecay = weightDecay,
        BiasCorrection = true,
    };

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range or not finite.</exception>
    /// <exception cref="ArgumentException">The official mode is asked to run without bias correction.</exception>
    public void Validate()
    {
        CheckFinite(LearningRate, nameof(LearningRate));
        ArgumentOutOfRangeException.ThrowIfNegative(LearningRate, nameof(LearningRate));
        CheckFinite(FisherDecay, nameof(FisherDecay));
        if (FisherDecay is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(FisherDecay), FisherDecay, "The Fisher decay must lie in [0, 1).");
        }

        CheckFinite(Epsilon, nameof(Epsilon));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epsilon, nameof(Epsilon));
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
        CheckFinite(WeightDecay, nameof(WeightDecay));
        ArgumentOutOfRangeException.ThrowIfNegative(WeightDecay, nameof(WeightDecay));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxBlocks, nameof(MaxBlocks));
        ArgumentOutOfRangeException.ThrowIfLessThan(FisherUpdateFrequency, 1, nameof(FisherUpdateFrequency));
        CheckFinite(Beta, nameof(Beta));
        if (Beta is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "β must lie in [0, 1).");
        }

        if (Mode == AdaFisherMode.OfficialCompatible && !BiasCorrection)
        {
            throw new ArgumentException("The official AdaFisher always bias-corrects its first moment; BiasCorrection must be true in OfficialCompatible mode.");
        }

        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown mode.");
        }
    }

    private static void CheckFinite(double value, string name)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite.");
        }
    }
}
