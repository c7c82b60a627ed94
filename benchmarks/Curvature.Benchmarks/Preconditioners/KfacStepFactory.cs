using System.Numerics;
using Curvature.Backends;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>Chooses the <see cref="IKfacStep"/> implementation the K-FAC benchmark measures (see <see cref="IKfacStep"/>).</summary>
public static class KfacStepFactory
{
    /// <summary>Creates a K-FAC step for an n → n dense layer on the given backend, with seeded data.</summary>
    public static IKfacStep Create<T>(CurvatureBackend backend, int n)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new ContractKfacStep<T>(backend, n);
}
