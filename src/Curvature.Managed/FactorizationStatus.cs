namespace Curvature;

/// <summary>
/// Outcome of a factorisation that can fail for numerical reasons (returned by the <c>Try…</c> methods).
/// </summary>
/// <remarks>
/// <see cref="Info"/> follows LAPACK's convention: 0 is success; for ?POTRF a positive value <c>k</c> means the
/// leading minor of order <c>k</c> is not positive definite; for ?POTRI a positive value <c>k</c> means
/// the factor's diagonal element <c>k</c> is zero; for ?SYEVD a positive value means the algorithm failed
/// to converge. Every backend reports the same <c>info</c> for the same input.
/// </remarks>
/// <param name="Routine">The LAPACK routine the status refers to, e.g. <c>"potrf"</c>.</param>
/// <param name="Info">LAPACK's <c>info</c> (0 on success).</param>
public readonly record struct FactorizationStatus(string Routine, int Info)
{
    /// <summary>True when the factorisation succeeded (<see cref="Info"/> is 0).</summary>
    public bool Succeeded => Info == 0;

    /// <summary>A successful status for <paramref name="routine"/>.</summary>
    public static FactorizationStatus Success(string routine) => new(routine, 0);
}
