namespace Curvature.Optimizers;

/// <summary>How <see cref="CurvatureOptimizer{T}.Step(double, Func{double}?, CancellationToken)"/> turns the preconditioned gradient into a parameter update.</summary>
public enum UpdateRule
{
    /// <summary>
    /// Heavy-ball momentum with a learning rate, as <c>torch.optim.SGD</c>: <c>v ← μ·v + d</c>, <c>θ ← θ − η·v</c>, where
    /// <c>d</c> is the preconditioned gradient, η the learning rate (and schedule) and μ the momentum.
    /// </summary>
    LearningRate = 0,

    /// <summary>
    /// Learning rate and momentum chosen each step by minimising the quadratic model of the loss over the span of the
    /// preconditioned gradient and the previous update (Martens &amp; Grosse 2015, §7; KFAC-JAX's adaptive learning rate
    /// and momentum): <c>δ = α·Δ + μ·δ₀</c>. The learning-rate settings are not used.
    /// </summary>
    QuadraticModel = 1,
}
