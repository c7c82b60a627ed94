using System.Text.Json;

namespace Curvature.Conformance;

/// <summary>One layer of one batch: the layer input <c>a</c> and the output gradients <c>g</c> (null when nothing was backpropagated).</summary>
public sealed record LayerBatch(double[] A, int[] AShape, double[]? G, int[]? GShape);

/// <summary>
/// Where the K-FAC and EKFAC parts take each batch's layer inputs and output gradients from: the case file itself
/// (<see cref="StoredLayerData"/>, the default) or a framework that recomputes them from the case's parameters and data.
/// </summary>
public interface ILayerDataSource
{
    /// <summary>The name given to <c>--via</c>.</summary>
    string Name { get; }

    /// <summary>
    /// The layer data of every batch of the case (batch order; per batch one entry per model layer, by name). A source
    /// may add its own comparisons (e.g. recomputed outputs against the stored ones) to <paramref name="checks"/>.
    /// </summary>
    IReadOnlyList<IReadOnlyDictionary<string, LayerBatch>> Collect(KfacCase kfacCase, KfacChecks checks);
}

/// <summary>The layer data stored in the case file (<c>batches[b].layers[name].a / g</c>).</summary>
public sealed class StoredLayerData : ILayerDataSource
{
    /// <summary>The one instance.</summary>
    public static StoredLayerData Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "stored";

    /// <inheritdoc />
    public IReadOnlyList<IReadOnlyDictionary<string, LayerBatch>> Collect(KfacCase kfacCase, KfacChecks checks)
    {
        ArgumentNullException.ThrowIfNull(kfacCase);
        var result = new List<IReadOnlyDictionary<string, LayerBatch>>();
        foreach (var batch in kfacCase.Batches)
        {
            var layers = batch.GetProperty("layers");
            var data = new Dictionary<string, LayerBatch>(StringComparer.Ordinal);
            foreach (var layer in kfacCase.Model.Layers)
            {
                var io = layers.GetProperty(layer.Name);
                var a = Tensor.From(io.GetProperty("a"));
                var g = io.TryGetProperty("g", out var ge) && ge.ValueKind != JsonValueKind.Null ? Tensor.From(ge) : null;
                data[layer.Name] = new LayerBatch(a.Data, a.Shape, g?.Data, g?.Shape);
            }

            result.Add(data);
        }

        return result;
    }
}
