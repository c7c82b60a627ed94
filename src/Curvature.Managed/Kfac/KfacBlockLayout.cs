using Curvature.Models;
namespace Curvature.Kfac;

/// <summary>
/// One Kronecker block of a <see cref="ModelSpec"/>: which layer and parameters it covers, its factor sizes, and where its
/// parameters sit in the flat parameter vector. The block acts on <c>vec_row(V)</c> with <c>V = [W.reshape(D_out, −1) | b]</c>
/// (joint), <c>W.reshape(D_out, −1)</c> (weight only) or <c>b</c> (bias only). Immutable.
/// </summary>
public sealed class KfacBlockLayout
{
    internal KfacBlockLayout(int index, int layerIndex, LayerSpec layer, KfacBlockParameters parameters, int weightOffset, int biasOffset)
    {
        Index = index;
        LayerIndex = layerIndex;
        Layer = layer;
        Parameters = parameters;
        WeightOffset = weightOffset;
        BiasOffset = biasOffset;
    }

    /// <summary>Position of the block in the block order (curvlinops' <c>param_groups</c> order).</summary>
    public int Index { get; }

    /// <summary>Index of the block's layer in <see cref="ModelSpec.Layers"/>.</summary>
    public int LayerIndex { get; }

    /// <summary>The block's layer.</summary>
    public LayerSpec Layer { get; }

    /// <summary>Which parameters the block covers.</summary>
    public KfacBlockParameters Parameters { get; }

    /// <summary>True when the block covers the weight.</summary>
    public bool HasWeight => Parameters != KfacBlockParameters.Bias;

    /// <summary>True when the block covers the bias (as the last column for a joint block).</summary>
    public bool HasBias => Parameters != KfacBlockParameters.Weight;

    /// <summary>True when the block has an input factor A (every block except bias-only ones).</summary>
    public bool HasInputFactor => Parameters != KfacBlockParameters.Bias;

    /// <summary>True when the input features get an appended constant 1 (joint weight + bias block).</summary>
    public bool AppendsOnes => Parameters == KfacBlockParameters.WeightAndBias;

    /// <summary>Order of G: <c>D_out</c>.</summary>
    public int OutputSize => Layer.OutputSize;

    /// <summary>Order of A: <c>D_in</c>, <c>D_in + 1</c> for a joint block, 0 for a bias-only block.</summary>
    public int InputSize => Parameters switch
    {
        KfacBlockParameters.WeightAndBias => Layer.WeightInputSize + 1,
        KfacBlockParameters.Weight => Layer.WeightInputSize,
        _ => 0,
    };

    /// <summary>Columns of the block's matrix V: <see cref="InputSize"/>, or 1 for a bias-only block.</summary>
    public int Columns => HasInputFactor ? InputSize : 1;

    /// <summary>Number of parameters the block covers: <c>D_out·Columns</c>.</summary>
    public int Dimension => OutputSize * Columns;

    /// <summary>Offset of the weight in the flat parameter vector (−1 when not covered).</summary>
    public int WeightOffset { get; }

    /// <summary>Offset of the bias in the flat parameter vector (−1 when not covered).</summary>
    public int BiasOffset { get; }

    /// <summary>The group as curvlinops lists it: <c>W</c> → weight name and/or <c>b</c> → bias name.</summary>
    public IReadOnlyDictionary<string, string> Group
    {
        get
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            if (HasWeight)
            {
                d["W"] = Layer.WeightName;
            }

            if (HasBias)
            {
                d["b"] = Layer.BiasName;
            }

            return d;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"block {Index}: {Layer.Name} {Parameters} (G {OutputSize}², A {InputSize}²)";
}
