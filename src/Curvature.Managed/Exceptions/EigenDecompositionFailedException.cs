namespace Curvature;

/// <summary>The symmetric eigensolver (?SYEVD) did not converge.</summary>
public sealed class EigenDecompositionFailedException : CurvatureException
{
    /// <summary>Creates the exception from a failed status.</summary>
    public EigenDecompositionFailedException(FactorizationStatus status, int order)
        : base($"The symmetric eigendecomposition of a matrix of order {order} failed to converge (?SYEVD info = {status.Info}).")
    {
        Info = status.Info;
        Order = order;
    }

    /// <summary>LAPACK's <c>info</c> (positive: number of off-diagonal elements that did not converge).</summary>
    public int Info { get; }

    /// <summary>The order of the matrix.</summary>
    public int Order { get; }
}
