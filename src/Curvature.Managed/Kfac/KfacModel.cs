namespace Curvature.Kfac;

/// <summary>
/// The layers K-FAC approximates, their parameters in <c>named_parameters()</c> order (per layer: weight, then bias) and
/// the block structure (curvlinops' <c>param_groups</c>): one joint <c>[W | b]</c> block per layer, or separate weight and
/// bias blocks. The flat parameter vector is the concatenation of the row-major parameter tensors.
/// Immutable, so one instance can be shared by any number of builders and operators on any threads.
/// </summary>
public sealed class KfacModel
{
    /// <summary>Builds the structure.</summary>
    /// <param name="layers">The layers, in module order; names must be unique.</param>
    /// <param name="separateWeightAndBias">True for separate weight and bias blocks, false for joint blocks.</param>
    /// <exception cref="ArgumentException">No layers, or duplicate names.</exception>
    public KfacModel(IEnumerable<KfacLayer> layers, bool separateWeightAndBias = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        Layers = [.. layers];
        if (Layers.Count == 0)
        {
            throw new ArgumentException("A K-FAC model needs at least one layer.", nameof(layers));
        }

        if (Layers.Select(l => l.Name).Distinct(StringComparer.Ordinal).Count() != Layers.Count)
        {
            throw new ArgumentException("Layer names must be unique.", nameof(layers));
        }

        SeparateWeightAndBias = separateWeightAndBias;
        var parameters = new List<KfacParameter>();
        var blocks = new List<KfacBlockLayout>();
        int offset = 0;
        for (int li = 0; li < Layers.Count; li++)
        {
            var layer = Layers[li];
            int weightOffset = offset;
            int weightLength = layer.OutputSize * layer.WeightInputSize;
            parameters.Add(new KfacParameter(layer.WeightName, layer.WeightShape, offset, weightLength, li, false));
            offset += weightLength;
            int biasOffset = -1;
            if (layer.HasBias)
            {
                biasOffset = offset;
                parameters.Add(new KfacParameter(layer.BiasName, [layer.OutputSize], offset, layer.OutputSize, li, true));
                offset += layer.OutputSize;
            }

            if (layer.HasBias && !separateWeightAndBias)
            {
                blocks.Add(new KfacBlockLayout(blocks.Count, li, layer, KfacBlockParameters.WeightAndBias, weightOffset, biasOffset));
            }
            else
            {
                blocks.Add(new KfacBlockLayout(blocks.Count, li, layer, KfacBlockParameters.Weight, weightOffset, -1));
                if (layer.HasBias)
                {
                    blocks.Add(new KfacBlockLayout(blocks.Count, li, layer, KfacBlockParameters.Bias, -1, biasOffset));
                }
            }
        }

        Parameters = parameters;
        Blocks = blocks;
        Dimension = offset;
    }

    /// <summary>The layers in module order.</summary>
    public IReadOnlyList<KfacLayer> Layers { get; }

    /// <summary>True when weight and bias have separate blocks.</summary>
    public bool SeparateWeightAndBias { get; }

    /// <summary>The parameters in <c>named_parameters()</c> order with their offsets.</summary>
    public IReadOnlyList<KfacParameter> Parameters { get; }

    /// <summary>The blocks in block order.</summary>
    public IReadOnlyList<KfacBlockLayout> Blocks { get; }

    /// <summary>Total number of parameters (length of the flat parameter vector).</summary>
    public int Dimension { get; }

    /// <summary>The index of the layer named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such layer.</exception>
    public int LayerIndex(string name)
    {
        for (int i = 0; i < Layers.Count; i++)
        {
            if (Layers[i].Name == name)
            {
                return i;
            }
        }

        throw new KeyNotFoundException($"The model has no layer named '{name}'.");
    }
}
