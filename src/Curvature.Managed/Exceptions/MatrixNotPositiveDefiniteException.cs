namespace Curvature;

/// <summary>A Cholesky factorisation (?POTRF) or inversion (?POTRI) met a matrix that is not positive definite.</summary>
public sealed class MatrixNotPositiveDefiniteException : CurvatureException
{
    /// <summary>Creates the exception from a failed status.</summary>
    /// <param name="status">The failed status; its <see cref="FactorizationStatus.Info"/> is kept.</param>
    /// <param name="order">The order of the matrix.</param>
    /// <param name="context">Optional description of what was being factorised (e.g. a layer's factor).</param>
    public MatrixNotPositiveDefiniteException(FactorizationStatus status, int order, string? context = null)
        : base(BuildMessage(status, order, context))
    {
        Info = status.Info;
        Routine = status.Routine;
        Order = order;
    }

    /// <summary>LAPACK's <c>info</c>: the order of the leading minor that is not positive definite.</summary>
    public int Info { get; }

    /// <summary>The LAPACK routine that failed (<c>potrf</c>, <c>potri</c>, or <c>potrs</c> for a solve from a singular factor).</summary>
    public string Routine { get; }

    /// <summary>The order of the matrix.</summary>
    public int Order { get; }

    private static string BuildMessage(FactorizationStatus status, int order, string? context)
    {
        string what = context is null ? "The matrix" : context;
        return status.Routine is "potri" or "potrs"
            ? $"{what} (order {order}) is singular: its Cholesky factor has a zero, NaN or infinite value at or before diagonal element {status.Info} (?{status.Routine.ToUpperInvariant()} info = {status.Info})."
            : $"{what} (order {order}) is not positive definite: the leading minor of order {status.Info} is not positive (?POTRF info = {status.Info}). Increase the damping.";
    }
}
