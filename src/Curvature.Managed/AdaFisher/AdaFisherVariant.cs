namespace Curvature.AdaFisher;

/// <summary>How weight decay enters the AdaFisher update (Gomes et al., ICLR 2025; official code <c>optimizers/AdaFisher.py</c>).</summary>
public enum AdaFisherVariant
{
    /// <summary>AdaFisher: coupled L2, <c>g ← g + wd·θ</c> before the first moment.</summary>
    AdaFisher,

    /// <summary>AdaFisherW: decoupled weight decay, <c>θ ← θ − lr·(m̂/F̃ + wd·θ)</c>.</summary>
    AdaFisherW,
}
