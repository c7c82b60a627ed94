namespace Curvature.AdaFisher;

/// <summary>Which rule turns layer statistics into AdaFisher's diagonal Kronecker factors (see
/// <see cref="Optimizers.AdaFisherOptimizerOptions.Mode"/>).</summary>
public enum AdaFisherMode
{
    /// <summary>
    /// The recommended default: H and S are the diagonals of the K-FAC factors of the training loss
    /// (<c>H_j = Σ x_j²/(N·S)</c> over the input rows, with 1 for the bias; <c>S_i = κ Σ g_i²</c> with κ = N·P for a
    /// mean-reduced loss), averaged like every Curvature statistic (bias-corrected moving average with
    /// <see cref="Optimizers.OptimizerOptions.StatisticsDecay"/>), no min–max normalisation, Conv2d statistics averaged over
    /// the patch rows with dilation honoured, and the damping <see cref="Optimizers.OptimizerOptions.Damping"/> a Tikhonov
    /// term: <c>F̃ = diag(S) ⊗ diag(H) + λ</c>. Embeddings use index frequencies for H; normalisation scale and shift and
    /// plain parameters get diagonal Fisher blocks.
    /// </summary>
    Principled,

    /// <summary>
    /// Compatible with the official AdaFisher code (AtlasAnalyticsLab/AdaFisher <c>eb858c6</c>) for Linear and Conv2d
    /// layers: min–max normalised statistics, running average <c>F ← (γ/10)·F + (γ/100)·MinMax(F̂)</c> starting from ones
    /// (γ = <see cref="Optimizers.AdaFisherOptimizerOptions.OfficialGamma"/>), the Conv2d normalisation by <c>N·L·d</c>
    /// (d = patch length), dilation ignored, <c>F̃ = S·Hᵀ + Λ</c> with Λ = <see cref="Optimizers.OptimizerOptions.Damping"/>,
    /// statistics every <see cref="Optimizers.OptimizerOptions.StatisticsUpdatePeriod"/> steps (the official TCov).
    /// BatchNorm and LayerNorm use the official formulas applied to the normalised input the optimizer observes (the
    /// official code reads the raw input); parameters outside those layers get <c>F̃ = 1</c>.
    /// </summary>
    OfficialCompatible,
}
