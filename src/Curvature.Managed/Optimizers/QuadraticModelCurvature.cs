namespace Curvature.Optimizers;

/// <summary>Which curvature matrix <c>C</c> the quadratic model <c>M(δ) = ½ δᵀ C δ + ∇ᵀδ</c> uses (for the quadratic-model
/// update rule and for the reduction ratio of adaptive damping).</summary>
public enum QuadraticModelCurvature
{
    /// <summary>
    /// The optimizer's own curvature approximation, undamped (K-FAC's <c>G ⊗ A</c> blocks, EKFAC's eigen-corrected blocks,
    /// AdaFisher's diagonal): free, no extra passes through the network, but it measures the model against itself, so the
    /// chosen step is close to the preconditioned gradient and the damping does the trust-region work.
    /// </summary>
    Approximation = 0,

    /// <summary>
    /// Products with a curvature the caller computes (e.g. exact Gauss-Newton-vector products from the framework), given to
    /// the optimizer as <see cref="CurvatureOptimizer{T}.CurvatureProducts"/>; what Martens &amp; Grosse and KFAC-JAX use.
    /// </summary>
    CallerProducts = 1,
}
