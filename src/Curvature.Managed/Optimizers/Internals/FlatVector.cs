using System.Numerics;
using Curvature.Solvers.Internals;

namespace Curvature.Optimizers.Internals;

/// <summary>Level-1 operations on the optimizers' flat parameter vectors; reductions accumulate in double.</summary>
internal static class FlatVector
{
    /// <summary>Σ x_i y_i, accumulated in double.</summary>
    public static double Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return VectorOps.Dot(x, y); // already in double
        }

        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sum += double.CreateTruncating(x[i]) * double.CreateTruncating(y[i]);
        }

        return sum;
    }

    /// <summary>The Euclidean norm, accumulated in double.</summary>
    public static double Norm<T>(ReadOnlySpan<T> x)
        where T : unmanaged, IFloatingPointIeee754<T> => Math.Sqrt(Dot(x, x));

    /// <summary>x ← a·x.</summary>
    public static void Scale<T>(Span<T> x, T a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= a;
        }
    }

    /// <summary>y ← y + a·x.</summary>
    public static void Axpy<T>(T a, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    /// <summary>True when every entry is finite.</summary>
    public static bool AllFinite<T>(ReadOnlySpan<T> x)
        where T : unmanaged, IFloatingPointIeee754<T> => VectorOps.AllFinite(x);
}
