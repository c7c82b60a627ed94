namespace Curvature.Backends;

/// <summary>
/// Which triangle of a row-major symmetric matrix a kernel reads or writes
/// (BLAS/LAPACK <c>uplo</c>, stated for the row-major view the caller sees).
/// </summary>
public enum Triangle
{
    /// <summary>The lower triangle, including the diagonal: elements (i, j) with j ≤ i.</summary>
    Lower = 0,

    /// <summary>The upper triangle, including the diagonal: elements (i, j) with j ≥ i.</summary>
    Upper = 1,
}
