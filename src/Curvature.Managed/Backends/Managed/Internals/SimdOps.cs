using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86Fma = System.Runtime.Intrinsics.X86.Fma;

namespace Curvature.Backends.Managed.Internals;

/// <summary>Small vector helpers shared by the managed kernels (AVX2 + FMA when available, scalar otherwise).</summary>
internal static unsafe class SimdOps
{
    /// <summary>True when the 256-bit FMA micro-kernels can run.</summary>
    public static readonly bool Accelerated = X86Fma.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary><c>x·y + acc</c> with one rounding (vfmadd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> acc)
    {
        if (typeof(T) == typeof(double))
        {
            return X86Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        }

        return X86Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
    }

    /// <summary><c>acc − x·y</c> with one rounding (vfnmadd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fnma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> acc)
    {
        if (typeof(T) == typeof(double))
        {
            return X86Fma.MultiplyAddNegated(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        }

        return X86Fma.MultiplyAddNegated(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
    }

    /// <summary><c>y[i] += alpha·x[i]</c> for <paramref name="length"/> contiguous elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy<T>(T* y, T* x, T alpha, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Accelerated)
        {
            int w = Vector256<T>.Count;
            var va = Vector256.Create(alpha);
            for (; i <= length - (2 * w); i += 2 * w)
            {
                Vector256.Store(Fma(va, Vector256.Load(x + i), Vector256.Load(y + i)), y + i);
                Vector256.Store(Fma(va, Vector256.Load(x + i + w), Vector256.Load(y + i + w)), y + i + w);
            }

            for (; i <= length - w; i += w)
            {
                Vector256.Store(Fma(va, Vector256.Load(x + i), Vector256.Load(y + i)), y + i);
            }
        }

        for (; i < length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary>Dot product of two contiguous vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Dot<T>(T* x, T* y, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Accelerated)
        {
            int w = Vector256<T>.Count;
            var s0 = Vector256<T>.Zero;
            var s1 = Vector256<T>.Zero;
            for (; i <= length - (2 * w); i += 2 * w)
            {
                s0 = Fma(Vector256.Load(x + i), Vector256.Load(y + i), s0);
                s1 = Fma(Vector256.Load(x + i + w), Vector256.Load(y + i + w), s1);
            }

            for (; i <= length - w; i += w)
            {
                s0 = Fma(Vector256.Load(x + i), Vector256.Load(y + i), s0);
            }

            sum = Vector256.Sum(s0 + s1);
        }

        for (; i < length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary><c>y[i] /= d</c> for <paramref name="length"/> contiguous elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Divide<T>(T* y, T d, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Accelerated)
        {
            int w = Vector256<T>.Count;
            var vd = Vector256.Create(d);
            for (; i <= length - w; i += w)
            {
                Vector256.Store(Vector256.Load(y + i) / vd, y + i);
            }
        }

        for (; i < length; i++)
        {
            y[i] /= d;
        }
    }
}
