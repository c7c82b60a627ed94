using System.Numerics;
using System.Runtime.InteropServices;

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
            return DotDouble(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y));
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
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (T v in x)
        {
            if (!T.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    private static double DotDouble(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= 2 * Vector<double>.Count)
        {
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y);
            Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero;
            int j = 0;
            for (; j + 1 < vx.Length; j += 2)
            {
                acc0 += vx[j] * vy[j];
                acc1 += vx[j + 1] * vy[j + 1];
            }

            for (; j < vx.Length; j++)
            {
                acc0 += vx[j] * vy[j];
            }

            sum = Vector.Sum(acc0 + acc1);
            i = vx.Length * Vector<double>.Count;
        }

        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }
}
