using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;

namespace Curvature.Diagnostics.Internals;

/// <summary>Backend calls that count their numerical failures in <see cref="CurvatureMetrics.FactorizationFailures"/>.</summary>
internal static class CountedKernels
{
    /// <summary><see cref="CurvatureBackend.SymmetricEigen{T}"/>; a non-convergence is counted (routine <c>syevd</c>) and rethrown.</summary>
    public static void SymmetricEigenCounted<T>(this CurvatureBackend backend, Span2D<T> a, Triangle triangle, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        try
        {
            backend.SymmetricEigen(a, triangle, eigenvalues);
        }
        catch (EigenDecompositionFailedException)
        {
            CurvatureMetrics.RecordFactorizationFailure("syevd", CurvatureMetrics.ElementTypeName<T>(), backend.Kind);
            throw;
        }
    }
}
