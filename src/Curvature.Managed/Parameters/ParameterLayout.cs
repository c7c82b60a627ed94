using System.Numerics;
using Curvature.Parameters.Internals;

namespace Curvature.Parameters;

/// <summary>
/// The stable layout of a flattened parameter vector: the tensors
/// sorted by name in Unicode code-point order (Python's <c>sorted()</c> on <c>str</c>), each one's elements in
/// row-major (C) order, concatenated without gaps. A scalar takes one element.
/// </summary>
/// <remarks>
/// Immutable. <see cref="Flatten{T}"/> and <see cref="Deflatten{T}(ReadOnlySpan{T}, ParameterSet)"/> convert between
/// float and double element by element (widening exactly, narrowing with round-to-nearest), so a set mixing
/// float and double tensors flattens into one vector of either type (for example everything into float64).
/// They allocate nothing.
/// </remarks>
public sealed class ParameterLayout
{
    private readonly ParameterSlot[] _slots;
    private readonly Dictionary<string, int> _index;

    private ParameterLayout(ParameterSlot[] slots, int totalLength)
    {
        _slots = slots;
        TotalLength = totalLength;
        _index = new Dictionary<string, int>(slots.Length, StringComparer.Ordinal);
        for (int i = 0; i < slots.Length; i++)
        {
            _index.Add(slots[i].Name, i);
        }
    }

    /// <summary>The layout of <paramref name="set"/>.</summary>
    public static ParameterLayout Create(ParameterSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var names = set.Keys.ToArray();
        Array.Sort(names, CodePointComparer.Instance);
        var slots = new ParameterSlot[names.Length];
        long offset = 0;
        for (int i = 0; i < names.Length; i++)
        {
            int length = set[names[i]].Length;
            if (offset + length > Array.MaxLength)
            {
                throw new ArgumentException("The parameters hold more elements than one vector can.", nameof(set));
            }

            slots[i] = new ParameterSlot(names[i], (int)offset, length);
            offset += length;
        }

        return new ParameterLayout(slots, (int)offset);
    }

    /// <summary>Length of the flat vector (the sum of the tensors' lengths).</summary>
    public int TotalLength { get; }

    /// <summary>The slots, in layout order.</summary>
    public ReadOnlySpan<ParameterSlot> Slots => _slots;

    /// <summary>The names in layout order.</summary>
    public IEnumerable<string> Names => _slots.Select(s => s.Name);

    /// <summary>The slot of the tensor called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The layout has no tensor of that name.</exception>
    public ParameterSlot this[string name] =>
        _index.TryGetValue(name, out int i) ? _slots[i] : throw new ArgumentException($"The layout has no parameter named '{name}'.", nameof(name));

    /// <summary>Looks up the slot of <paramref name="name"/>.</summary>
    public bool TryGetSlot(string name, out ParameterSlot slot)
    {
        if (_index.TryGetValue(name, out int i))
        {
            slot = _slots[i];
            return true;
        }

        slot = default;
        return false;
    }

    /// <summary>Whether <paramref name="set"/> has exactly this layout's names with the same lengths.</summary>
    public bool Matches(ParameterSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Count != _slots.Length)
        {
            return false;
        }

        foreach (var s in _slots)
        {
            if (!set.TryGetValue(s.Name, out var t) || t.Length != s.Length)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Copies the tensors of <paramref name="source"/> into the flat vector <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> has a name the layout does not know, lacks one it does, a tensor's
    /// size differs from its slot, or <paramref name="destination"/> is not <see cref="TotalLength"/> long.</exception>
    public void Flatten<T>(ParameterSet source, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureSameNames(source, nameof(source));
        EnsureVectorLength(destination.Length, nameof(destination));
        foreach (var s in _slots)
        {
            ElementConversion.CopyFrom(source[s.Name], destination.Slice(s.Offset, s.Length));
        }
    }

    /// <summary>Writes the flat <paramref name="vector"/> back into the tensors of <paramref name="destination"/>, in place
    /// (each tensor keeps its shape and element type).</summary>
    /// <exception cref="ArgumentException">As for <see cref="Flatten{T}"/>.</exception>
    public void Deflatten<T>(ReadOnlySpan<T> vector, ParameterSet destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureSameNames(destination, nameof(destination));
        EnsureVectorLength(vector.Length, nameof(vector));
        foreach (var s in _slots)
        {
            ElementConversion.CopyTo(vector.Slice(s.Offset, s.Length), destination[s.Name]);
        }
    }

    /// <summary>A new set shaped like <paramref name="like"/> (names, shapes, element types) holding the values of <paramref name="vector"/>
    /// (allocates).</summary>
    /// <exception cref="ArgumentException">As for <see cref="Flatten{T}"/>.</exception>
    public ParameterSet DeflattenToNew<T>(ReadOnlySpan<T> vector, ParameterSet like)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureSameNames(like, nameof(like));
        var result = like.Clone();
        Deflatten(vector, result);
        return result;
    }

    /// <summary>Gathers named gradients into a flat vector in this layout: every layout name must be
    /// present with the same number of elements (the shape may differ); names the layout does not know are ignored.</summary>
    /// <exception cref="ArgumentException">The map is empty, lacks a layout name, a size differs, or <paramref name="destination"/> is not <see cref="TotalLength"/> long.</exception>
    public void GatherGradients<T>(ParameterSet gradients, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Count == 0)
        {
            throw new ArgumentException("The gradient map is empty.", nameof(gradients));
        }

        EnsureVectorLength(destination.Length, nameof(destination));
        foreach (var s in _slots)
        {
            if (!gradients.TryGetValue(s.Name, out var g))
            {
                throw new ArgumentException($"The gradient map has no entry for parameter '{s.Name}'.", nameof(gradients));
            }

            if (g.Length != s.Length)
            {
                throw new ArgumentException($"Gradient size mismatch for key '{s.Name}': the parameter has {s.Length} elements, the gradient {g.Length}.", nameof(gradients));
            }
        }

        foreach (var s in _slots)
        {
            ElementConversion.CopyFrom(gradients[s.Name], destination.Slice(s.Offset, s.Length));
        }
    }

    private void EnsureSameNames(ParameterSet set, string paramName)
    {
        ArgumentNullException.ThrowIfNull(set, paramName);
        if (ReferenceEquals(set.Layout, this))
        {
            return;
        }

        foreach (var s in _slots)
        {
            if (!set.TryGetValue(s.Name, out var t))
            {
                throw new ArgumentException($"The parameter set has no tensor named '{s.Name}', which the layout expects.", paramName);
            }

            if (t.Length != s.Length)
            {
                throw new ArgumentException($"Size mismatch for parameter '{s.Name}': the layout expects {s.Length} elements, the tensor has {t.Length} (shape {t.ShapeText}).", paramName);
            }
        }

        if (set.Count != _slots.Length)
        {
            foreach (var name in set.Keys)
            {
                if (!_index.ContainsKey(name))
                {
                    throw new ArgumentException($"Unknown parameter '{name}': the layout does not contain it.", paramName);
                }
            }
        }
    }

    private void EnsureVectorLength(int length, string paramName)
    {
        if (length != TotalLength)
        {
            throw new ArgumentException($"The flat vector must have {TotalLength} elements (the layout's total), but it has {length}.", paramName);
        }
    }
}
