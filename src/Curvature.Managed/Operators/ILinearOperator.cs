using System.Numerics;

namespace Curvature.Operators;

/// <summary>
/// A linear map on vectors of length <see cref="Dimension"/> (square), the common currency of the solvers
/// (conjugate gradient) and the curvature operators (K-FAC, EKFAC, block Fisher).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface ILinearOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The length of the vectors the operator acts on.</summary>
    int Dimension { get; }

    /// <summary>Computes <c>destination = Op · source</c>; <paramref name="destination"/> must not overlap <paramref name="source"/>.</summary>
    void Apply(ReadOnlySpan<T> source, Span<T> destination);
}
