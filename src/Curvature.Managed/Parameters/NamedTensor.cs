namespace Curvature.Parameters;

/// <summary>
/// A named parameter (or gradient) tensor: a name, a shape and row-major (C-order) data of <see cref="float"/> or
/// <see cref="double"/>. The typed view is <see cref="NamedTensor{T}"/>; this base lets one
/// <see cref="ParameterSet"/> hold tensors of both element types.
/// </summary>
public abstract class NamedTensor
{
    private readonly int[] _shape;

    private protected NamedTensor(string name, ReadOnlySpan<int> shape, int dataLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long length = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Tensor '{name}': dimensions must be non-negative, but the shape is [{string.Join(", ", shape.ToArray())}].", nameof(shape));
            }

            length *= d;
            if (length > Array.MaxLength)
            {
                throw new ArgumentException($"Tensor '{name}' is too large.", nameof(shape));
            }
        }

        if (length != dataLength)
        {
            throw new ArgumentException(
                $"Tensor '{name}': the shape [{string.Join(", ", shape.ToArray())}] holds {length} elements, but the data has {dataLength}.",
                nameof(shape));
        }

        Name = name;
        _shape = shape.ToArray();
        Length = dataLength;
    }

    /// <summary>The tensor's name (the key of the flattened layout).</summary>
    public string Name { get; }

    /// <summary>The shape; empty for a scalar (which holds one element).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public int Length { get; }

    /// <summary>The element type: <see cref="float"/> or <see cref="double"/>.</summary>
    public abstract Type ElementType { get; }

    /// <summary>The shape formatted as <c>[d0, d1, …]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", _shape) + "]";

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {ElementType.Name}{ShapeText}";
}
