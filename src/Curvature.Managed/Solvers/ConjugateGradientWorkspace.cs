using System.Numerics;

namespace Curvature.Solvers;

/// <summary>Reusable scratch of <see cref="ConjugateGradient"/> for one dimension (four vectors); one per concurrent solve
/// (a solve that finds the workspace in use by another thread throws <see cref="InvalidOperationException"/>).</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ConjugateGradientWorkspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Allocates the scratch for vectors of length <paramref name="dimension"/>.</summary>
    public ConjugateGradientWorkspace(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"The solver works in float or double, not {typeof(T).Name}.");
        }

        Dimension = dimension;
        Residual = new T[dimension];
        Preconditioned = new T[dimension];
        Direction = new T[dimension];
        Product = new T[dimension];
    }

    /// <summary>Detects two solves sharing this workspace at the same time.</summary>
    internal Curvature.Internals.SingleCallerGuard Guard { get; } = new();

    /// <summary>The vector length this workspace serves.</summary>
    public int Dimension { get; }

    internal T[] Residual { get; }

    internal T[] Preconditioned { get; }

    internal T[] Direction { get; }

    internal T[] Product { get; }
}
