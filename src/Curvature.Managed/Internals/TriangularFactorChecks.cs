namespace Curvature.Internals;

/// <summary>
/// Checks on the diagonal of a triangular (Cholesky) factor, shared by every backend so that they all report the same
/// failures: a factorisation that produced a non-finite or non-positive pivot, and a solve or inverse from a factor
/// with a zero or non-finite pivot.
/// </summary>
internal static class TriangularFactorChecks
{
    /// <summary>
    /// The 1-based index of the first diagonal element of a freshly computed Cholesky factor that is not a finite
    /// positive number, or 0 when every pivot is. Some LAPACK builds (OpenBLAS) report success when a pivot became NaN
    /// (for instance through <c>∞·0</c> inside the factorisation) because <c>NaN ≤ 0</c> is false.
    /// </summary>
    /// <remarks>The diagonal is enough: pivot i is <c>sqrt(a_ii − Σ_k l_ik²)</c>, so a non-finite entry anywhere in row
    /// (lower) or column (upper) i of the factor makes pivot i non-finite too.</remarks>
    public static int FirstBadPivot<T>(in MatrixRef<T> factor)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        int n = factor.Rows;
        for (int i = 0; i < n; i++)
        {
            T d = factor.At(i, i);
            if (!(T.IsFinite(d) && d > T.Zero))
            {
                return i + 1;
            }
        }

        return 0;
    }

    /// <summary>The 1-based index of the first diagonal element that is zero or not finite, or 0 when there is none
    /// (LAPACK <c>?TRTRI</c>'s singularity test, extended to NaN and infinity).</summary>
    public static int FirstSingularPivot<T>(in MatrixRef<T> factor)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        int n = factor.Rows;
        for (int i = 0; i < n; i++)
        {
            T d = factor.At(i, i);
            if (T.IsZero(d) || !T.IsFinite(d))
            {
                return i + 1;
            }
        }

        return 0;
    }
}
