using Curvature.Kfac;
using Curvature.Models;
using Curvature.Layers;

namespace Curvature.TorchSharp;

/// <summary>
/// One supported layer of a TorchSharp module: its module path (as PyTorch names it, e.g. <c>"features.0"</c>), kind,
/// sizes, convolution geometry and which parameters it has. Enough to build a Curvature model description.
/// </summary>
public sealed class TorchLayer
{
    internal TorchLayer(string name, TorchLayerKind kind, int inputSize, int outputSize, bool hasBias, int[] weightShape,
        Conv2dGeometry? convolution = null, IReadOnlyList<int>? normalizedShape = null, double epsilon = 0, bool trackRunningStatistics = false)
    {
        Name = name;
        Kind = kind;
        InputSize = inputSize;
        OutputSize = outputSize;
        HasBias = hasBias;
        WeightShape = weightShape;
        Convolution = convolution;
        NormalizedShape = normalizedShape ?? [];
        Epsilon = epsilon;
        TrackRunningStatistics = trackRunningStatistics;
    }

    /// <summary>The module path, e.g. <c>"0"</c> or <c>"encoder.fc1"</c>; parameters are <c>&lt;Name&gt;.weight</c> and <c>&lt;Name&gt;.bias</c>.</summary>
    public string Name { get; }

    /// <summary>The layer type.</summary>
    public TorchLayerKind Kind { get; }

    /// <summary>Linear: in-features; Conv2d: in-channels; BatchNorm: features; LayerNorm: elements of the normalized shape; Embedding: number of embeddings.</summary>
    public int InputSize { get; }

    /// <summary>Linear: out-features; Conv2d: out-channels; BatchNorm: features; LayerNorm: elements of the normalized shape; Embedding: embedding size.</summary>
    public int OutputSize { get; }

    /// <summary>True when the layer has a trainable bias (the shift of a norm layer).</summary>
    public bool HasBias { get; }

    /// <summary>The weight's shape: Linear <c>[out, in]</c>, Conv2d <c>[C_out, C_in/groups, kh, kw]</c>, BatchNorm <c>[C]</c>, LayerNorm the normalized shape, Embedding <c>[num, dim]</c>.</summary>
    public IReadOnlyList<int> WeightShape { get; }

    /// <summary>The convolution geometry (Conv2d only; includes the groups).</summary>
    public Conv2dGeometry? Convolution { get; }

    /// <summary>The normalized shape (LayerNorm only; empty otherwise).</summary>
    public IReadOnlyList<int> NormalizedShape { get; }

    /// <summary>The ε added to the variance (BatchNorm and LayerNorm; 0 otherwise).</summary>
    public double Epsilon { get; }

    /// <summary>BatchNorm only: true when the layer keeps running statistics (used to normalise in evaluation mode).</summary>
    public bool TrackRunningStatistics { get; }

    /// <summary>Name of the weight parameter.</summary>
    public string WeightName => Name + ".weight";

    /// <summary>Name of the bias parameter.</summary>
    public string BiasName => Name + ".bias";

    /// <summary>
    /// This layer as Curvature describes it (same name and parameter names): Linear and Conv2d (groups included; patches
    /// averaged over channel groups as curvlinops) with their bias, BatchNorm and LayerNorm as scale and shift over
    /// <see cref="OutputSize"/> features (a multi-axis LayerNorm weight is taken flat, row-major), Embedding as its table.
    /// </summary>
    public LayerSpec ToLayerSpec() => Kind switch
    {
        TorchLayerKind.Linear => LayerSpec.Linear(Name, InputSize, OutputSize, HasBias),
        TorchLayerKind.Conv2d => LayerSpec.Conv2d(Name, Convolution!, HasBias),
        TorchLayerKind.BatchNorm1d or TorchLayerKind.BatchNorm2d => LayerSpec.BatchNorm(Name, OutputSize, HasBias),
        TorchLayerKind.LayerNorm => LayerSpec.LayerNorm(Name, OutputSize, HasBias),
        _ => LayerSpec.Embedding(Name, InputSize, OutputSize),
    };

    /// <inheritdoc />
    public override string ToString() => $"{Kind} '{Name}' ({InputSize} → {OutputSize}{(HasBias ? ", bias" : "")})";
}
