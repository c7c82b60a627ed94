using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Internals;

/// <summary>
/// The bridge's copies between libtorch tensors and managed buffers. Each is a single pass over the tensor's memory (a
/// non-contiguous tensor is first made contiguous by libtorch: one extra copy, never needed for the outputs of the
/// supported layers or for autograd's gradients).
/// </summary>
internal static class TensorCopy
{
    /// <summary>The libtorch element type of <typeparamref name="T"/> (float32 or float64).</summary>
    public static ScalarType ScalarTypeOf<T>()
        where T : unmanaged => typeof(T) == typeof(float) ? ScalarType.Float32 : ScalarType.Float64;

    /// <summary>Throws unless <paramref name="tensor"/> is a CPU tensor of <typeparamref name="T"/>'s element type.</summary>
    public static void CheckFloating<T>(Tensor tensor, string what)
        where T : unmanaged
    {
        if (tensor.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"{what} is on {tensor.device_type}; the bridge works on CPU tensors.");
        }

        if (tensor.dtype != ScalarTypeOf<T>())
        {
            throw new ArgumentException($"{what} is {tensor.dtype}, but the capture was created for {typeof(T).Name} ({ScalarTypeOf<T>()}).");
        }
    }

    /// <summary>Makes <paramref name="buffer"/> hold at least <paramref name="length"/> values (grows, never shrinks).</summary>
    public static void Ensure<T>(ref T[] buffer, long length)
    {
        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"A tensor of {length} values is too large for a managed buffer.");
        }

        if (buffer.Length < length)
        {
            buffer = new T[length];
        }
    }

    /// <summary>Copies a floating tensor of <typeparamref name="T"/> into <paramref name="destination"/>, multiplied by <paramref name="scale"/>.</summary>
    public static void CopyTo<T>(Tensor tensor, Span<T> destination, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!tensor.is_contiguous())
        {
            using var contiguous = tensor.contiguous();
            CopyTo(contiguous, destination, scale);
            return;
        }

        ReadOnlySpan<T> source = MemoryMarshal.Cast<byte, T>(tensor.bytes);
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"The tensor holds {source.Length} values, the destination {destination.Length}.");
        }

        if (scale == T.One)
        {
            source.CopyTo(destination);
        }
        else
        {
            Scale(source, scale, destination);
        }
    }

    /// <summary>Copies a managed buffer into a contiguous CPU tensor of <typeparamref name="T"/> of the same size.</summary>
    public static void CopyFrom<T>(ReadOnlySpan<T> source, Tensor tensor)
        where T : unmanaged
    {
        Span<T> destination = MemoryMarshal.Cast<byte, T>(tensor.bytes);
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"The tensor holds {destination.Length} values, the source {source.Length}.");
        }

        source.CopyTo(destination);
    }

    /// <summary>Copies an integer tensor (int64 or int32) into <paramref name="destination"/> as exact whole numbers of <typeparamref name="T"/>.</summary>
    public static void CopyIndices<T>(Tensor tensor, Span<T> destination, long limit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!tensor.is_contiguous())
        {
            using var contiguous = tensor.contiguous();
            CopyIndices(contiguous, destination, limit);
            return;
        }

        switch (tensor.dtype)
        {
            case ScalarType.Int64:
                Convert(MemoryMarshal.Cast<byte, long>(tensor.bytes), destination, limit);
                break;
            case ScalarType.Int32:
                ReadOnlySpan<int> ints = MemoryMarshal.Cast<byte, int>(tensor.bytes);
                for (int i = 0; i < ints.Length; i++)
                {
                    destination[i] = Checked<T>(ints[i], limit);
                }

                break;
            default:
                throw new ArgumentException($"Embedding indices must be int64 or int32, not {tensor.dtype}.");
        }
    }

    /// <summary>True when every value is finite (vectorised: <c>x − x</c> is 0 for finite x and NaN otherwise).</summary>
    public static bool AllFinite<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            var vectors = MemoryMarshal.Cast<T, Vector<T>>(values);
            foreach (var v in vectors)
            {
                acc += v - v;
            }

            for (int k = 0; k < Vector<T>.Count; k++)
            {
                if (!T.IsFinite(acc[k]))
                {
                    return false;
                }
            }

            i = vectors.Length * Vector<T>.Count;
        }

        for (; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static void Convert<T>(ReadOnlySpan<long> source, Span<T> destination, long limit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"The tensor holds {source.Length} values, the destination {destination.Length}.");
        }

        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = Checked<T>(source[i], limit);
        }
    }

    private static T Checked<T>(long index, long limit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if ((ulong)index >= (ulong)limit)
        {
            throw new ArgumentException($"Embedding index {index} is outside [0, {limit}).");
        }

        return T.CreateChecked(index);
    }

    private static void Scale<T>(ReadOnlySpan<T> source, T scale, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<T>.Count)
        {
            var s = new Vector<T>(scale);
            var src = MemoryMarshal.Cast<T, Vector<T>>(source);
            var dst = MemoryMarshal.Cast<T, Vector<T>>(destination);
            for (int v = 0; v < src.Length; v++)
            {
                dst[v] = src[v] * s;
            }

            i = src.Length * Vector<T>.Count;
        }

        for (; i < source.Length; i++)
        {
            destination[i] = source[i] * scale;
        }
    }
}
