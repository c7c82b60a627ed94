using System.Numerics;
using Curvature.Kfac;

namespace Curvature.TorchSharp;

/// <summary>
/// Feeds captured layers into a <see cref="KfacFactorBuilder{T}"/>: each observation of a layer of the builder's model is
/// one <see cref="KfacFactorBuilder{T}.AccumulateLayer(string, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/>
/// call. Observations of layers outside the model (norm layers, embeddings) are ignored.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class KfacFactorBuilderObserver<T> : ILayerObserver<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dictionary<string, int> _layerIndex;

    /// <summary>Creates an observer that accumulates into <paramref name="builder"/>.</summary>
    public KfacFactorBuilderObserver(KfacFactorBuilder<T> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Builder = builder;
        _layerIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < builder.Model.Layers.Count; i++)
        {
            _layerIndex[builder.Model.Layers[i].Name] = i;
        }
    }

    /// <summary>The builder the observations go to.</summary>
    public KfacFactorBuilder<T> Builder { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The builder rejected the batch (shapes, non-finite values); its factors are unchanged.</exception>
    public void Observe(string layerName, ReadOnlySpan<T> a, ReadOnlySpan<int> aShape, ReadOnlySpan<T> g, ReadOnlySpan<int> gShape)
    {
        if (_layerIndex.TryGetValue(layerName, out int index))
        {
            Builder.AccumulateLayer(index, a, aShape, g, gShape);
        }
    }
}
