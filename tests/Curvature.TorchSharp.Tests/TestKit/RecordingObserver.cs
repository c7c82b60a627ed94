using System.Numerics;

namespace Curvature.TorchSharp.Tests.TestKit;

/// <summary>Keeps a copy of every observation, by layer name, in observation order.</summary>
public sealed class RecordingObserver<T> : ILayerObserver<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public List<string> Order { get; } = [];

    public Dictionary<string, (T[] A, int[] AShape, T[] G, int[] GShape)> Layers { get; } = new(StringComparer.Ordinal);

    public void Observe(string layerName, ReadOnlySpan<T> a, ReadOnlySpan<int> aShape, ReadOnlySpan<T> g, ReadOnlySpan<int> gShape)
    {
        Order.Add(layerName);
        Layers[layerName] = (a.ToArray(), aShape.ToArray(), g.ToArray(), gShape.ToArray());
    }
}
