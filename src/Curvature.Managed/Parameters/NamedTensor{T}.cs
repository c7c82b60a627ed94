using System.Numerics;

namespace Curvature.Parameters;

/// <summary>A named tensor with elements of type <typeparamref name="T"/>, stored row-major (C order) in memory the caller may share.</summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class NamedTensor<T> : NamedTensor
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of the given shape.</summary>
    /// <param name="name">The name; must not be empty.</param>
    /// <param name="data">Row-major data; its length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">The shape; empty for a scalar (then <paramref name="data"/> has one element).</param>
    /// <exception cref="ArgumentException">The name is empty, a dimension is negative or the data length does not match the shape.</exception>
    public NamedTensor(string name, Memory<T> data, ReadOnlySpan<int> shape)
        : base(name, shape, data.Length)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"Tensors hold float or double, not {typeof(T).Name}.");
        }

        Data = data;
    }

    /// <summary>Wraps a one-dimensional array (shape <c>[data.Length]</c>).</summary>
    public NamedTensor(string name, T[] data)
        : this(name, data ?? throw new ArgumentNullException(nameof(data)), [data.Length])
    {
    }

    /// <summary>A new zero-filled tensor of the given shape.</summary>
    public static NamedTensor<T> Zeros(string name, params ReadOnlySpan<int> shape)
    {
        long length = 1;
        foreach (int d in shape)
        {
            length *= Math.Max(d, 0);
            if (length > Array.MaxLength)
            {
                throw new ArgumentException($"Tensor '{name}' is too large.", nameof(shape));
            }
        }

        return new NamedTensor<T>(name, new T[length], shape);
    }

    /// <summary>A scalar (rank-0) tensor holding <paramref name="value"/>.</summary>
    public static NamedTensor<T> Scalar(string name, T value) => new(name, new[] { value }, ReadOnlySpan<int>.Empty);

    /// <summary>The data, row-major.</summary>
    public Memory<T> Data { get; }

    /// <summary>The data as a span.</summary>
    public Span<T> Span => Data.Span;

    /// <inheritdoc />
    public override Type ElementType => typeof(T);
}
