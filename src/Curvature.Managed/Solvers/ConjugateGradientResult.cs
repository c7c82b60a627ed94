namespace Curvature.Solvers;

/// <summary>The outcome of a <see cref="ConjugateGradient"/> solve.</summary>
/// <param name="Termination">Why it stopped.</param>
/// <param name="Iterations">Number of iterations (operator applications after the start).</param>
/// <param name="ResidualNorm">Final (recursively updated) residual norm <c>‖b − A x‖₂</c>.</param>
/// <param name="RightHandSideNorm"><c>‖b‖₂</c>, the scale of the relative tolerance.</param>
public readonly record struct ConjugateGradientResult(ConjugateGradientTermination Termination, int Iterations, double ResidualNorm, double RightHandSideNorm)
{
    /// <summary>Whether the tolerance was met.</summary>
    public bool Converged => Termination == ConjugateGradientTermination.Converged;

    /// <summary><c>‖r‖ / ‖b‖</c> (0 when b = 0).</summary>
    public double RelativeResidual => RightHandSideNorm > 0 ? ResidualNorm / RightHandSideNorm : 0;
}
