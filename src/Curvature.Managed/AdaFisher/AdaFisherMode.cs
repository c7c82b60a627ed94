namespace Curvature.AdaFisher;

/// <summary>Which rule turns layer statistics into the diagonal Kronecker factors.</summary>
public enum AdaFisherMode
{
    /// <summary>
    /// The recommended default: a standard exponential moving average <c>F ← γ·F + (1 − γ)·F̂</c> (γ =
    /// <see cref="AdaFisherOptions.FisherDecay"/>, the first refresh stores <c>F̂</c> itself), no min–max
    /// normalisation, Conv2d statistics averaged over the <c>N·L</c> patch rows (L output locations), dilation
    /// honoured, output gradients of a batch-mean loss rescaled by N (per-example gradients, as KFAC-JAX does), and
    /// the damping <see cref="AdaFisherOptions.Epsilon"/> a Tikhonov term: <c>F̃ = diag(S) ⊗ diag(H) + ε·I</c>.
    /// Unstructured parameters use a block-diagonal empirical Fisher.
    /// </summary>
    Principled,

    /// <summary>
    /// Bit-compatible with the official AdaFisher code (AtlasAnalyticsLab/AdaFisher <c>eb858c6</c>): min–max
    /// normalised statistics, running average <c>F ← (γ/10)·F + (γ/100)·MinMax(F̂)</c> starting from ones, the
    /// Conv2d normalisation by <c>N·L·d</c> (d = patch length), dilation ignored, <c>F̃ = S·Hᵀ + Λ</c> with
    /// Λ = <see cref="AdaFisherOptions.Epsilon"/> and γ = <see cref="AdaFisherOptions.FisherDecay"/>; parameters
    /// outside any registered layer get <c>F̃ = 1</c>.
    /// </summary>
    OfficialCompatible,
}
