using System.Numerics;
using System.Runtime.InteropServices;

namespace Curvature.Parameters.Internals;

/// <summary>Copies between float and double spans (widening exactly, narrowing with round-to-nearest).</summary>
internal static class ElementConversion
{
    public static void Copy<TFrom, TTo>(ReadOnlySpan<TFrom> source, Span<TTo> destination)
        where TFrom : unmanaged, IFloatingPointIeee754<TFrom>
        where TTo : unmanaged, IFloatingPointIeee754<TTo>
    {
        if (typeof(TFrom) == typeof(TTo))
        {
            MemoryMarshal.Cast<TFrom, TTo>(source).CopyTo(destination);
            return;
        }

        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = TTo.CreateTruncating(source[i]);
        }
    }

    /// <summary>Copies a tensor's data (of either element type) into <paramref name="destination"/>.</summary>
    public static void CopyFrom<TTo>(NamedTensor tensor, Span<TTo> destination)
        where TTo : unmanaged, IFloatingPointIeee754<TTo>
    {
        switch (tensor)
        {
            case NamedTensor<double> d:
                Copy<double, TTo>(d.Span, destination);
                break;
            case NamedTensor<float> f:
                Copy<float, TTo>(f.Span, destination);
                break;
            default:
                throw new NotSupportedException($"Tensor '{tensor.Name}' has unsupported element type {tensor.ElementType.Name}.");
        }
    }

    /// <summary>Copies <paramref name="source"/> into a tensor's data (of either element type).</summary>
    public static void CopyTo<TFrom>(ReadOnlySpan<TFrom> source, NamedTensor tensor)
        where TFrom : unmanaged, IFloatingPointIeee754<TFrom>
    {
        switch (tensor)
        {
            case NamedTensor<double> d:
                Copy<TFrom, double>(source, d.Span);
                break;
            case NamedTensor<float> f:
                Copy<TFrom, float>(source, f.Span);
                break;
            default:
                throw new NotSupportedException($"Tensor '{tensor.Name}' has unsupported element type {tensor.ElementType.Name}.");
        }
    }
}
