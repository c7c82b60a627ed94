using System.Numerics;
using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;

namespace Curvature.Kfac.Internals;

/// <summary>Validation and dense materialisation shared by the block-diagonal operators.</summary>
internal static class BlockProducts
{
    public delegate void MultiplyAction<T>(ReadOnlySpan2D<T> source, Span2D<T> destination);

    public static void ValidateMatrices<T>(int dimension, ReadOnlySpan2D<T> source, Span2D<T> destination)
    {
        if (source.Height != dimension || source.Width < 1)
        {
            throw new ArgumentException($"The source must have {dimension} rows and at least one column, but it is {source.Height} × {source.Width}.", nameof(source));
        }

        if (destination.Height != dimension || destination.Width != source.Width)
        {
            throw new ArgumentException($"The destination must be {dimension} × {source.Width}, but it is {destination.Height} × {destination.Width}.", nameof(destination));
        }

        unsafe
        {
            // Overlap check on the spanned memory.
            ref T s0 = ref System.Runtime.CompilerServices.Unsafe.AsRef(in source.DangerousGetReference());
            ref T d0 = ref destination.DangerousGetReference();
            ref T sEnd = ref System.Runtime.CompilerServices.Unsafe.AsRef(in source.DangerousGetReferenceAt(source.Height - 1, source.Width - 1));
            ref T dEnd = ref destination.DangerousGetReferenceAt(destination.Height - 1, destination.Width - 1);
            bool disjoint = System.Runtime.CompilerServices.Unsafe.IsAddressLessThan(ref sEnd, ref d0)
                || System.Runtime.CompilerServices.Unsafe.IsAddressLessThan(ref dEnd, ref s0);
            if (!disjoint)
            {
                throw new ArgumentException("The destination must not overlap the source.", nameof(destination));
            }
        }
    }

    /// <summary>
    /// Nothing non-finite is returned for finite input: when the product holds NaN or infinity although the source is
    /// finite (factors near the range limit times a large vector overflow), the call fails instead of returning it.
    /// Costs one pass over the result (and over the source only when the result is not finite).
    /// </summary>
    /// <exception cref="ArgumentException">The product overflows; the destination's content is then unspecified.</exception>
    public static void EnsureFiniteProduct<T>(ReadOnlySpan2D<T> source, Span2D<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (AllFinite((ReadOnlySpan2D<T>)destination) || !AllFinite(source))
        {
            return;
        }

        throw new ArgumentException("The product overflows: the operator applied to this finite source is not representable.", nameof(source));
    }

    private static bool AllFinite<T>(ReadOnlySpan2D<T> m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < m.Height; r++)
        {
            foreach (T v in m.GetRowSpan(r))
            {
                if (!T.IsFinite(v))
                {
                    return false;
                }
            }
        }

        return true;
    }

    public static ReadOnlySpan2D<T> AsColumn<T>(ReadOnlySpan<T> vector, int dimension, string name)
    {
        if (vector.Length != dimension)
        {
            throw new ArgumentException($"The vector must have length {dimension}, but it has {vector.Length}.", name);
        }

        return ReadOnlySpan2D<T>.DangerousCreate(in MemoryMarshal.GetReference(vector), dimension, 1, 0);
    }

    public static Span2D<T> AsColumn<T>(Span<T> vector, int dimension, string name)
    {
        if (vector.Length != dimension)
        {
            throw new ArgumentException($"The vector must have length {dimension}, but it has {vector.Length}.", name);
        }

        return Span2D<T>.DangerousCreate(ref MemoryMarshal.GetReference(vector), dimension, 1, 0);
    }

    public static void ToDense<T>(int dimension, MultiplyAction<T> multiply, Span2D<T> destination)
        where T : unmanaged, INumberBase<T>
    {
        if (destination.Height != dimension || destination.Width != dimension)
        {
            throw new ArgumentException($"The destination must be {dimension} × {dimension}.", nameof(destination));
        }

        var identity = new T[dimension * dimension];
        for (int i = 0; i < dimension; i++)
        {
            identity[(i * dimension) + i] = T.One;
        }

        multiply(new ReadOnlySpan2D<T>(identity, dimension, dimension), destination);
    }
}
