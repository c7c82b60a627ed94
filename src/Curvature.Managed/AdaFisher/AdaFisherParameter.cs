using System.Numerics;

namespace Curvature.AdaFisher;

/// <summary>
/// One trainable tensor handed to an AdaFisher optimizer: its name, its values (updated in place by
/// <see cref="AdaFisherOptimizer{T}.Step"/>) and the buffer the caller writes its gradient into before each step.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AdaFisherParameter<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a parameter; <paramref name="values"/> and <paramref name="gradient"/> must have the same length.</summary>
    /// <exception cref="ArgumentException">The name is empty, the buffers are empty or of different lengths.</exception>
    public AdaFisherParameter(string name, Memory<T> values, Memory<T> gradient)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (values.IsEmpty)
        {
            throw new ArgumentException($"Parameter '{name}' has no values.", nameof(values));
        }

        if (gradient.Length != values.Length)
        {
            throw new ArgumentException($"Parameter '{name}' has {values.Length} values but a gradient buffer of {gradient.Length}.", nameof(gradient));
        }

        Name = name;
        Values = values;
        Gradient = gradient;
    }

    /// <summary>Creates a parameter over new arrays of <paramref name="length"/> zeros.</summary>
    public AdaFisherParameter(string name, int length)
        : this(name, new T[ValidLength(length)], new T[length])
    {
    }

    /// <summary>The parameter's name (e.g. <c>"0.weight"</c>).</summary>
    public string Name { get; }

    /// <summary>The values, row-major in the framework's layout (Linear <c>[D_out, D_in]</c>, Conv2d <c>[C_out, C_in/groups, kh, kw]</c>).</summary>
    public Memory<T> Values { get; }

    /// <summary>The gradient, same layout; read by <see cref="AdaFisherOptimizer{T}.Step"/>.</summary>
    public Memory<T> Gradient { get; }

    /// <summary>Number of values.</summary>
    public int Length => Values.Length;

    private static int ValidLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        return length;
    }
}
