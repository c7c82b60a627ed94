using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Curvature.Parameters;

/// <summary>
/// A collection of uniquely named tensors (float and double may be mixed): a model's parameters, or a map of
/// named gradients. Its <see cref="Layout"/> flattens it into one vector and back.
/// </summary>
/// <remarks>Not thread-safe. Tensors keep their shape for life, so the layout changes only when tensors are added or removed;
/// it is computed once and cached.</remarks>
public sealed class ParameterSet : IReadOnlyDictionary<string, NamedTensor>
{
    private readonly Dictionary<string, NamedTensor> _tensors = new(StringComparer.Ordinal);
    private ParameterLayout? _layout;

    /// <summary>An empty set.</summary>
    public ParameterSet()
    {
    }

    /// <summary>A set holding <paramref name="tensors"/>.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name.</exception>
    public ParameterSet(IEnumerable<NamedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var t in tensors)
        {
            Add(t);
        }
    }

    /// <summary>Number of tensors.</summary>
    public int Count => _tensors.Count;

    /// <summary>The flattened layout of this set (names in Unicode code-point order); cached until the set changes.</summary>
    public ParameterLayout Layout => _layout ??= ParameterLayout.Create(this);

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public NamedTensor this[string name] =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"The parameter set has no tensor named '{name}'.");

    /// <summary>The names, in no guaranteed order (<see cref="Layout"/> gives the stable, sorted order).</summary>
    public IEnumerable<string> Keys => _tensors.Keys;

    /// <summary>The tensors, in no guaranteed order (<see cref="Layout"/> gives the stable, sorted order).</summary>
    public IEnumerable<NamedTensor> Values => _tensors.Values;

    /// <summary>Adds a tensor.</summary>
    /// <exception cref="ArgumentException">A tensor with the same name is already present.</exception>
    public void Add(NamedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_tensors.TryAdd(tensor.Name, tensor))
        {
            throw new ArgumentException($"The parameter set already holds a tensor named '{tensor.Name}'.", nameof(tensor));
        }

        _layout = null;
    }

    /// <summary>Adds a tensor wrapping <paramref name="data"/> (not copied) with the given shape and returns it. With no shape,
    /// a one-element array becomes a scalar and any other array a vector.</summary>
    public NamedTensor<T> Add<T>(string name, T[] data, params ReadOnlySpan<int> shape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        var t = shape.IsEmpty && data.Length != 1 ? new NamedTensor<T>(name, data) : new NamedTensor<T>(name, data, shape);
        Add(t);
        return t;
    }

    /// <summary>Removes the tensor called <paramref name="name"/>; returns whether it was present.</summary>
    public bool Remove(string name)
    {
        bool removed = _tensors.Remove(name);
        if (removed)
        {
            _layout = null;
        }

        return removed;
    }

    /// <summary>The tensor called <paramref name="name"/> as <see cref="NamedTensor{T}"/>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    /// <exception cref="InvalidCastException">The tensor's element type is not <typeparamref name="T"/>.</exception>
    public NamedTensor<T> Get<T>(string name)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        this[name] as NamedTensor<T> ?? throw new InvalidCastException($"Tensor '{name}' holds {this[name].ElementType.Name}, not {typeof(T).Name}.");

    /// <summary>Whether a tensor called <paramref name="key"/> is present.</summary>
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out NamedTensor value) => _tensors.TryGetValue(key, out value);

    /// <summary>A new flat vector of all the tensors in <see cref="Layout"/> order (allocates; see <see cref="ParameterLayout.Flatten{T}"/>).</summary>
    public T[] Flatten<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = Layout;
        var v = new T[layout.TotalLength];
        layout.Flatten(this, v.AsSpan());
        return v;
    }

    /// <summary>Writes a flat vector in <see cref="Layout"/> order back into the tensors (in place).</summary>
    public void Deflatten<T>(ReadOnlySpan<T> vector)
        where T : unmanaged, IFloatingPointIeee754<T> => Layout.Deflatten(vector, this);

    /// <summary>A deep copy: new tensors with the same names, shapes, element types and values.</summary>
    public ParameterSet Clone()
    {
        var copy = new ParameterSet();
        foreach (var t in _tensors.Values)
        {
            copy.Add(CloneTensor(t));
        }

        return copy;
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, NamedTensor>> GetEnumerator() => _tensors.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal static NamedTensor CloneTensor(NamedTensor t) => t switch
    {
        NamedTensor<double> d => new NamedTensor<double>(d.Name, d.Span.ToArray(), d.Shape),
        NamedTensor<float> f => new NamedTensor<float>(f.Name, f.Span.ToArray(), f.Shape),
        _ => throw new NotSupportedException($"Tensor '{t.Name}' has unsupported element type {t.ElementType.Name}."),
    };
}
