namespace Curvature.Optimizers;

/// <summary>Whether the damping λ stays fixed or adapts to how well the quadratic model predicts the loss.</summary>
public enum DampingAdaptation
{
    /// <summary>λ stays at <see cref="OptimizerOptions.Damping"/> (or what the <see cref="CurvatureOptimizer{T}.Damping"/> setter sets).</summary>
    Fixed = 0,

    /// <summary>
    /// Levenberg–Marquardt (Martens &amp; Grosse 2015, §6.5; KFAC-JAX's adaptive damping): every
    /// <see cref="OptimizerOptions.DampingAdaptationInterval"/> steps, with the reduction ratio
    /// <c>ρ = (L(θ + δ) − L(θ)) / M(δ)</c> of the actual to the predicted change, <c>λ ← ω·λ</c> when ρ &gt; 3/4 and
    /// <c>λ ← λ/ω</c> when ρ &lt; 1/4, <c>ω = decay^interval</c>, clipped to [<see cref="OptimizerOptions.MinDamping"/>,
    /// <see cref="OptimizerOptions.MaxDamping"/>].
    /// </summary>
    LevenbergMarquardt = 1,
}
