using Curvature.Kfac;

namespace Curvature.Models;

/// <summary>
/// The one description of a network that every Curvature operator and optimizer takes: its layers in module order, their
/// parameters in <c>named_parameters()</c> order (per layer: weight, then bias), whether weight and bias share one
/// curvature block (<c>[W | b]</c>, the bias as an input feature of constant 1) or have separate blocks, and the
/// Kronecker block structure of the Linear and Conv2d layers (curvlinops' <c>param_groups</c>). The flat parameter vector
/// is the concatenation of the row-major parameter tensors in <see cref="Parameters"/> order.
/// </summary>
/// <remarks>Immutable; safe to share between threads and optimizers.</remarks>
public sealed class ModelSpec
{
    /// <summary>Builds the structure.</summary>
    /// <param name="layers">The layers, in module order; names must be unique.</param>
    /// <param name="separateWeightAndBias">True for separate weight and bias blocks, false (the default) for joint
    /// <c>[W | b]</c> blocks. Applies to Linear and Conv2d layers; normalisation layers always treat scale and shift as two
    /// diagonal blocks.</param>
    /// <exception cref="ArgumentException">No layers, or duplicate names.</exception>
    public ModelSpec(IEnumerable<LayerSpec> layers, bool separateWeightAndBias = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        Layers = [.. layers];
        if (Layers.Count == 0)
        {
            throw new ArgumentException("A model needs at least one layer.", nameof(layers));
        }

        if (Layers.Select(l => l.Name).Distinct(StringComparer.Ordinal).Count() != Layers.Count)
        {
            throw new ArgumentException("Layer names must be unique.", nameof(layers));
        }

        SeparateWeightAndBias = separateWeightAndBias;
        var parameters = new List<ParameterSpec>();
        var blocks = new List<KfacBlockLayout>();
        int offset = 0;
        for (int li = 0; li < Layers.Count; li++)
        {
            var layer = Layers[li];
            int weightOffset = offset;
            int weightLength = layer.WeightLength;
            parameters.Add(new ParameterSpec(layer.WeightName, layer.WeightShape.ToArray(), offset, weightLength, li, false));
            if ((long)offset + weightLength + (layer.HasBias ? layer.OutputSize : 0) > Array.MaxLength)
            {
                throw new ArgumentException("The model has more parameters than an array can hold.", nameof(layers));
            }

            offset += weightLength;
            int biasOffset = -1;
            if (layer.HasBias)
            {
                biasOffset = offset;
                parameters.Add(new ParameterSpec(layer.BiasName, [layer.OutputSize], offset, layer.OutputSize, li, true));
                offset += layer.OutputSize;
            }

            if (layer.Kind is not (LayerKind.Linear or LayerKind.Conv2d))
            {
                continue;
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
    public IReadOnlyList<LayerSpec> Layers { get; }

    /// <summary>True when weight and bias have separate blocks.</summary>
    public bool SeparateWeightAndBias { get; }

    /// <summary>The parameters in <c>named_parameters()</c> order with their offsets.</summary>
    public IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>The Kronecker blocks of the Linear and Conv2d layers, in block order (the K-FAC operator's structure).</summary>
    public IReadOnlyList<KfacBlockLayout> Blocks { get; }

    /// <summary>Total number of parameters (length of the flat parameter vector).</summary>
    public int Dimension { get; }

    /// <summary>True when every layer is Linear or Conv2d (the layers curvlinops' K-FAC and EKFAC operators support).</summary>
    public bool IsOperatorCompatible => Layers.All(l => l.Kind is LayerKind.Linear or LayerKind.Conv2d);

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

    /// <summary>Throws <see cref="NotSupportedException"/> unless every layer is Linear or Conv2d.</summary>
    internal void EnsureOperatorCompatible(string what)
    {
        foreach (var layer in Layers)
        {
            if (layer.Kind is not (LayerKind.Linear or LayerKind.Conv2d))
            {
                throw new NotSupportedException($"{what} supports Linear and Conv2d layers (as curvlinops does); layer '{layer.Name}' is {layer.Kind}. The optimizers support every layer kind.");
            }
        }
    }
}
