using System.Numerics;
using Curvature.Operators;

namespace Curvature.Solvers;

/// <summary>Wraps a <see cref="LinearMap{T}"/> delegate and a dimension as an <see cref="ILinearOperator{T}"/> (for example to
/// pass a delegate where an operator is expected, such as a preconditioner).</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class LinearMapOperator<T> : ILinearOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LinearMap<T> _map;

    /// <summary>Creates the operator.</summary>
    /// <param name="dimension">The vector length (≥ 0).</param>
    /// <param name="map">The map; it is called with spans of exactly <paramref name="dimension"/> elements.</param>
    public LinearMapOperator(int dimension, LinearMap<T> map)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        ArgumentNullException.ThrowIfNull(map);
        Dimension = dimension;
        _map = map;
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A span's length differs from <see cref="Dimension"/>.</exception>
    public void Apply(ReadOnlySpan<T> source, Span<T> destination)
    {
        if (source.Length != Dimension || destination.Length != Dimension)
        {
            throw new ArgumentException($"The operator has dimension {Dimension}, but the source has {source.Length} and the destination {destination.Length} elements.");
        }

        _map(source, destination);
    }
}
