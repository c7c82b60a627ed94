using System.Numerics;
using System.Runtime.InteropServices;

namespace Curvature.Solvers.Internals;

/// <summary>Level-1 vector kernels (dot, axpy) with <see cref="Vector{T}"/>.</summary>
internal static class VectorOps
{
    public static double Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && x.Length >= 2 * Vector<T>.Count)
        {
            var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
            var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
            Vector<T> acc0 = Vector<T>.Zero, acc1 = Vector<T>.Zero;
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
            i = vx.Length * Vector<T>.Count;
        }

        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return double.CreateTruncating(sum);
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

    /// <summary>p ← z + b·p.</summary>
    public static void Xpby<T>(ReadOnlySpan<T> z, T b, Span<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = z[i] + b * p[i];
        }
    }

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
}
