using System.Text.Json;
using Curvature.Models;
using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Layers;
using Curvature.Loss;

namespace Curvature.Conformance;

/// <summary>
/// A <c>kfac_ekfac</c> reference case turned into Curvature objects: the model structure, the options, the per-batch layer
/// data, and helpers to flatten parameter-space tensor lists (shared by the K-FAC and EKFAC parts).
/// </summary>
public sealed class KfacCase
{
    private KfacCase(ReferenceCase source)
    {
        Source = source;
        var root = source.Root;
        var config = root.GetProperty("config");
        Loss = config.GetProperty("loss").GetString() switch
        {
            "MSELoss" => LossFunction.MeanSquaredError,
            "CrossEntropyLoss" => LossFunction.CrossEntropy,
            "BCEWithLogitsLoss" => LossFunction.BinaryCrossEntropyWithLogits,
            var other => throw new InvalidOperationException($"Unknown loss '{other}'."),
        };
        Reduction = config.GetProperty("reduction").GetString() == "sum" ? LossReduction.Sum : LossReduction.Mean;
        Fisher = config.GetProperty("fisher_type").GetString() switch
        {
            "type-2" => FisherType.Type2,
            "mc" => FisherType.MonteCarlo,
            "empirical" => FisherType.Empirical,
            "forward-only" => FisherType.ForwardOnly,
            var other => throw new InvalidOperationException($"Unknown fisher_type '{other}'."),
        };
        McSamples = config.GetProperty("mc_samples").GetInt32();
        Options = new KfacOptions
        {
            NumData = config.GetProperty("num_data").GetInt32(),
            LossTermsPerExample = config.GetProperty("num_per_example_loss_terms").GetInt32(),
            Reduction = Reduction,
            Approximation = config.GetProperty("kfac_approx").GetString() == "reduce" ? WeightSharing.Reduce : WeightSharing.Expand,
            Fisher = Fisher,
        };
        bool separate = config.GetProperty("separate_weight_and_bias").GetBoolean();
        var layers = new List<LayerSpec>();
        foreach (var l in root.GetProperty("model").GetProperty("layers").EnumerateArray())
        {
            string name = l.GetProperty("name").GetString()!;
            bool bias = l.GetProperty("bias").GetBoolean();
            switch (l.GetProperty("kind").GetString())
            {
                case "linear":
                    layers.Add(LayerSpec.Linear(name, l.GetProperty("in_features").GetInt32(), l.GetProperty("out_features").GetInt32(), bias));
                    break;
                case "conv2d":
                    var k = Pair(l.GetProperty("kernel_size"));
                    var s = Pair(l.GetProperty("stride"));
                    var p = Pair(l.GetProperty("padding"));
                    var d = Pair(l.GetProperty("dilation"));
                    var geo = new Conv2dGeometry(l.GetProperty("in_channels").GetInt32(), l.GetProperty("out_channels").GetInt32(),
                        k.A, k.B, s.A, s.B, p.A, p.B, d.A, d.B, l.TryGetProperty("groups", out var gr) ? gr.GetInt32() : 1);
                    layers.Add(LayerSpec.Conv2d(name, geo, bias));
                    break;
                default:
                    throw new InvalidOperationException($"Unknown layer kind '{l.GetProperty("kind").GetString()}'.");
            }
        }

        Model = new ModelSpec(layers, separate);
        Batches = [.. root.GetProperty("batches").EnumerateArray()];
    }

    /// <summary>The case file.</summary>
    public ReferenceCase Source { get; }

    /// <summary>The loss.</summary>
    public LossFunction Loss { get; }

    /// <summary>The reduction.</summary>
    public LossReduction Reduction { get; }

    /// <summary>The Fisher type.</summary>
    public FisherType Fisher { get; }

    /// <summary>Monte-Carlo samples.</summary>
    public int McSamples { get; }

    /// <summary>Accumulation options (N, P, reduction, approximation, Fisher).</summary>
    public KfacOptions Options { get; }

    /// <summary>The model structure.</summary>
    public ModelSpec Model { get; }

    /// <summary>The batches (JSON).</summary>
    public IReadOnlyList<JsonElement> Batches { get; }

    /// <summary>Reads the case.</summary>
    public static KfacCase From(ReferenceCase source) => new(source);

    /// <summary>Accumulates the factors from the <c>a</c> and <c>g</c> of every batch and layer.</summary>
    public KfacFactorBuilder<double> BuildFactors(CurvatureBackend backend, IReadOnlyList<IReadOnlyDictionary<string, LayerBatch>> layerData)
    {
        ArgumentNullException.ThrowIfNull(layerData);
        var builder = new KfacFactorBuilder<double>(backend, Model, Options);
        foreach (var batch in layerData)
        {
            for (int li = 0; li < Model.Layers.Count; li++)
            {
                var io = batch[Model.Layers[li].Name];
                if (io.G is not null)
                {
                    builder.AccumulateLayer(li, io.A, io.AShape, io.G, io.GShape);
                }
                else
                {
                    builder.AccumulateLayer(li, io.A, io.AShape, [], []); // forward-only: nothing was backpropagated
                }
            }
        }

        return builder;
    }

    /// <summary>Flattens a parameter-space tensor list (shapes <c>[*param.shape, K]</c>) into a Dimension × K row-major matrix, checking names and shapes.</summary>
    public (double[] Data, int Columns) Flatten(JsonElement list)
    {
        var items = Tensor.ListFrom(list);
        if (items.Count != Model.Parameters.Count)
        {
            throw new InvalidOperationException($"The tensor list has {items.Count} entries; the model has {Model.Parameters.Count} parameters.");
        }

        int k = items[0].Tensor.Dim(-1);
        var data = new double[Model.Dimension * k];
        for (int i = 0; i < items.Count; i++)
        {
            var p = Model.Parameters[i];
            var (name, t) = items[i];
            if (name != p.Name || !t.Shape.SequenceEqual(p.Shape.Append(k)))
            {
                throw new InvalidOperationException($"Tensor list entry {i} is '{name}' [{string.Join(", ", t.Shape)}]; expected '{p.Name}' [{string.Join(", ", p.Shape.Append(k))}].");
            }

            t.Data.CopyTo(data, p.Offset * k);
        }

        return (data, k);
    }

    private static (int A, int B) Pair(JsonElement e) => e.ValueKind == JsonValueKind.Array
        ? (e[0].GetInt32(), e[1].GetInt32())
        : (e.GetInt32(), e.GetInt32());
}
