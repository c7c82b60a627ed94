namespace Curvature.Optimizers;

/// <summary>How <see cref="OptimizerOptions.WeightDecay"/> enters the update.</summary>
public enum WeightDecayMode
{
    /// <summary>
    /// L2 regularisation coupled to the gradient, as <c>torch.optim.SGD</c>'s <c>weight_decay</c>: <c>g ← g + wd·θ</c>
    /// before preconditioning (and <c>wd·I</c> added to the curvature of the quadratic model).
    /// </summary>
    Coupled = 0,

    /// <summary>Decoupled weight decay, as AdamW / AdaFisherW: <c>θ ← θ − η·wd·θ</c> beside the preconditioned update.</summary>
    Decoupled = 1,
}
