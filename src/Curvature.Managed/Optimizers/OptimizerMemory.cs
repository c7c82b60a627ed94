namespace Curvature.Optimizers;

/// <summary>Bytes an optimizer holds, by purpose.</summary>
/// <param name="Statistics">Running curvature statistics (Kronecker factors, diagonals, EKFAC scalings), including their
/// double buffer and staged batch statistics.</param>
/// <param name="Inverses">Cached damped inverses (K-FAC), including background-refresh buffers.</param>
/// <param name="Eigenbases">Eigenvectors and eigenvalues (EKFAC), including background-refresh buffers.</param>
/// <param name="Workspaces">Work vectors of the step (gradient copy, direction, update, momentum) and kernel scratch.</param>
public readonly record struct OptimizerMemory(long Statistics, long Inverses, long Eigenbases, long Workspaces)
{
    /// <summary>The sum of all parts.</summary>
    public long Total => Statistics + Inverses + Eigenbases + Workspaces;
}
