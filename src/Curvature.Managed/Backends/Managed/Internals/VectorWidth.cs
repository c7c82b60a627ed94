using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using X86Fma = System.Runtime.Intrinsics.X86.Fma;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// The vector operations the managed kernels are written against, implemented once per register width
/// (<see cref="Wide512{T}"/>, <see cref="Wide256{T}"/>, <see cref="Wide128{T}"/>). A kernel generic over
/// <c>TOps : IVectorOps&lt;TVec, T&gt;</c> is compiled by the JIT separately for each width it is called with, with every
/// operation inlined, so one source gives the AVX-512, AVX2 and portable 128-bit (SSE, ARM64 NEON) kernels.
/// </summary>
/// <typeparam name="TVec">The vector type (<see cref="Vector512{T}"/>, <see cref="Vector256{T}"/>, <see cref="Vector128{T}"/>).</typeparam>
/// <typeparam name="T">float or double.</typeparam>
internal unsafe interface IVectorOps<TVec, T>
    where T : unmanaged
{
    /// <summary>Elements per vector.</summary>
    static abstract int Count { get; }

    /// <summary>The zero vector.</summary>
    static abstract TVec Zero { get; }

    static abstract TVec Load(T* p);

    static abstract void Store(TVec v, T* p);

    static abstract TVec Broadcast(T x);

    /// <summary>a·b + c (fused where the hardware has FMA).</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    /// <summary>c − a·b (fused where the hardware has FMA).</summary>
    static abstract TVec MultiplyAddNegated(TVec a, TVec b, TVec c);

    static abstract TVec Multiply(TVec a, TVec b);

    static abstract TVec Add(TVec a, TVec b);

    static abstract TVec Divide(TVec a, TVec b);

    /// <summary>The sum of the elements.</summary>
    static abstract T Sum(TVec v);
}

/// <summary>512-bit vectors (AVX-512).</summary>
internal readonly unsafe struct Wide512<T> : IVectorOps<Vector512<T>, T>
    where T : unmanaged
{
    public static int Count => Vector512<T>.Count;

    public static Vector512<T> Zero => Vector512<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T* p) => Vector512.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<T> v, T* p) => Vector512.Store(v, p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Broadcast(T x) => Vector512.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAddNegated(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector512.FusedMultiplyAdd(-a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return Vector512.FusedMultiplyAdd(-a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector512<T> v) => Vector512.Sum(v);
}

/// <summary>256-bit vectors (AVX2 + FMA).</summary>
internal readonly unsafe struct Wide256<T> : IVectorOps<Vector256<T>, T>
    where T : unmanaged
{
    public static int Count => Vector256<T>.Count;

    public static Vector256<T> Zero => Vector256<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Load(T* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<T> v, T* p) => Vector256.Store(v, p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Broadcast(T x) => Vector256.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAddNegated(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(double))
        {
            return X86Fma.IsSupported
                ? X86Fma.MultiplyAddNegated(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>()
                : Vector256.FusedMultiplyAdd(-a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return X86Fma.IsSupported
            ? X86Fma.MultiplyAddNegated(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>()
            : Vector256.FusedMultiplyAdd(-a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Multiply(Vector256<T> a, Vector256<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Divide(Vector256<T> a, Vector256<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector256<T> v) => Vector256.Sum(v);
}

/// <summary>128-bit vectors: SSE on x86 (fused multiply-add only with FMA), NEON on ARM64 (always fused).</summary>
internal readonly unsafe struct Wide128<T> : IVectorOps<Vector128<T>, T>
    where T : unmanaged
{
    /// <summary>Whether multiply-add is a single fused instruction (otherwise a multiply and an add: the software
    /// fallback of a fused operation would be far slower).</summary>
    private static bool Fused => X86Fma.IsSupported || AdvSimd.IsSupported;

    public static int Count => Vector128<T>.Count;

    public static Vector128<T> Zero => Vector128<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Load(T* p) => Vector128.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<T> v, T* p) => Vector128.Store(v, p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Broadcast(T x) => Vector128.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (!Fused)
        {
            return (a * b) + c;
        }

        if (typeof(T) == typeof(double))
        {
            return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAddNegated(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (!Fused)
        {
            return c - (a * b);
        }

        if (typeof(T) == typeof(double))
        {
            return Vector128.FusedMultiplyAdd(-a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return Vector128.FusedMultiplyAdd(-a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Multiply(Vector128<T> a, Vector128<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Divide(Vector128<T> a, Vector128<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector128<T> v) => Vector128.Sum(v);
}

/// <summary>
/// The register width the managed kernels use on this machine, chosen once at run time: 512 bits where the CPU has
/// AVX-512 (and the runtime accelerates <see cref="Vector512{T}"/>), 256 bits with AVX2 + FMA, 128 bits wherever
/// <see cref="Vector128{T}"/> is accelerated (SSE, ARM64 NEON), otherwise scalar code (0).
/// </summary>
/// <remarks>Under NativeAOT the choice is made when the program is compiled, from its instruction-set setting
/// (<c>IlcInstructionSet</c>; without it the x64 baseline gives the 128-bit kernels).</remarks>
internal static class VectorWidth
{
    /// <summary>512, 256, 128 or 0.</summary>
    public static readonly int Bits =
        Vector512.IsHardwareAccelerated ? 512
        : Vector256.IsHardwareAccelerated && X86Fma.IsSupported ? 256
        : Vector128.IsHardwareAccelerated ? 128
        : 0;

    /// <summary>Elements of T per vector (4 doubles for the scalar kernels' tile).</summary>
    public static int Elements<T>()
        where T : unmanaged => (Bits == 0 ? 256 : Bits) / 8 / Unsafe.SizeOf<T>();

    /// <summary>A description for <c>Describe()</c>.</summary>
    public static string Description => Bits switch
    {
        512 => "AVX-512 (Vector512) kernels",
        256 => "AVX2 + FMA (Vector256) kernels",
        128 => AdvSimd.IsSupported ? "NEON (Vector128) kernels" : X86Fma.IsSupported ? "SSE + FMA (Vector128) kernels" : "SSE (Vector128) kernels",
        _ => "scalar kernels",
    };
}
