namespace Curvature.Solvers;

/// <summary>Why a conjugate-gradient solve stopped.</summary>
public enum ConjugateGradientTermination
{
    /// <summary>The residual met the tolerance.</summary>
    Converged = 0,

    /// <summary>The iteration cap was reached first.</summary>
    IterationLimit = 1,

    /// <summary>A curvature <c>pᵀAp</c> or a preconditioned residual product <c>rᵀMr</c> was not positive or not finite: the operator or the
    /// preconditioner is not (numerically) positive definite, or produced NaN/infinity. The solution holds the last good iterate.</summary>
    Breakdown = 2,
}
