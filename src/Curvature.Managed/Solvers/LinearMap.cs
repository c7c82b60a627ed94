using System.Numerics;

namespace Curvature.Solvers;

/// <summary>A linear map given as a delegate: writes <c>Op · source</c> into <paramref name="destination"/> (same length, no overlap).</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public delegate void LinearMap<T>(ReadOnlySpan<T> source, Span<T> destination)
    where T : unmanaged, IFloatingPointIeee754<T>;
