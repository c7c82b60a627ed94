using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// Small vector helpers shared by the managed kernels, at the register width of <see cref="VectorWidth"/> (512, 256
/// or 128 bits, chosen at run time), scalar where no width is accelerated.
/// </summary>
internal static unsafe class SimdOps
{
    /// <summary>True when vector kernels run (any accelerated width).</summary>
    public static bool Accelerated => VectorWidth.Bits != 0;

    /// <summary><c>y[i] += alpha·x[i]</c> for <paramref name="length"/> contiguous elements.</summary>
    public static void Axpy<T>(T* y, T* x, T alpha, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (VectorWidth.Bits)
        {
            case 512:
                Axpy<Wide512<T>, Vector512<T>, T>(y, x, alpha, length);
                break;
            case 256:
                Axpy<Wide256<T>, Vector256<T>, T>(y, x, alpha, length);
                break;
            case 128:
                Axpy<Wide128<T>, Vector128<T>, T>(y, x, alpha, length);
                break;
            default:
                for (int i = 0; i < length; i++)
                {
                    y[i] += alpha * x[i];
                }

                break;
        }
    }

    /// <summary>Dot product of two contiguous vectors.</summary>
    public static T Dot<T>(T* x, T* y, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (VectorWidth.Bits)
        {
            case 512:
                return Dot<Wide512<T>, Vector512<T>, T>(x, y, length);
            case 256:
                return Dot<Wide256<T>, Vector256<T>, T>(x, y, length);
            case 128:
                return Dot<Wide128<T>, Vector128<T>, T>(x, y, length);
            default:
                T sum = T.Zero;
                for (int i = 0; i < length; i++)
                {
                    sum += x[i] * y[i];
                }

                return sum;
        }
    }

    /// <summary><c>y[i] /= d</c> for <paramref name="length"/> contiguous elements.</summary>
    public static void Divide<T>(T* y, T d, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (VectorWidth.Bits)
        {
            case 512:
                Divide<Wide512<T>, Vector512<T>, T>(y, d, length);
                break;
            case 256:
                Divide<Wide256<T>, Vector256<T>, T>(y, d, length);
                break;
            case 128:
                Divide<Wide128<T>, Vector128<T>, T>(y, d, length);
                break;
            default:
                for (int i = 0; i < length; i++)
                {
                    y[i] /= d;
                }

                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpy<TOps, TVec, T>(T* y, T* x, T alpha, int length)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = TOps.Count;
        var va = TOps.Broadcast(alpha);
        for (; i <= length - (2 * w); i += 2 * w)
        {
            TOps.Store(TOps.MultiplyAdd(va, TOps.Load(x + i), TOps.Load(y + i)), y + i);
            TOps.Store(TOps.MultiplyAdd(va, TOps.Load(x + i + w), TOps.Load(y + i + w)), y + i + w);
        }

        for (; i <= length - w; i += w)
        {
            TOps.Store(TOps.MultiplyAdd(va, TOps.Load(x + i), TOps.Load(y + i)), y + i);
        }

        for (; i < length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Dot<TOps, TVec, T>(T* x, T* y, int length)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = TOps.Count;
        var s0 = TOps.Zero;
        var s1 = TOps.Zero;
        for (; i <= length - (2 * w); i += 2 * w)
        {
            s0 = TOps.MultiplyAdd(TOps.Load(x + i), TOps.Load(y + i), s0);
            s1 = TOps.MultiplyAdd(TOps.Load(x + i + w), TOps.Load(y + i + w), s1);
        }

        for (; i <= length - w; i += w)
        {
            s0 = TOps.MultiplyAdd(TOps.Load(x + i), TOps.Load(y + i), s0);
        }

        T sum = TOps.Sum(TOps.Add(s0, s1));
        for (; i < length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Divide<TOps, TVec, T>(T* y, T d, int length)
        where TOps : struct, IVectorOps<TVec, T>
        where TVec : struct
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = TOps.Count;
        var vd = TOps.Broadcast(d);
        for (; i <= length - w; i += w)
        {
            TOps.Store(TOps.Divide(TOps.Load(y + i), vd), y + i);
        }

        for (; i < length; i++)
        {
            y[i] /= d;
        }
    }
}
