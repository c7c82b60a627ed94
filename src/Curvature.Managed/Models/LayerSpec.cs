using Curvature.Layers;

namespace Curvature.Models;

/// <summary>
/// Describes one layer of a network for Curvature: its name (e.g. the PyTorch module path <c>"0"</c> or
/// <c>"encoder.fc1"</c>), kind, sizes and bias. Parameter names follow PyTorch: <c>&lt;name&gt;.weight</c> and
/// <c>&lt;name&gt;.bias</c>; a <see cref="LayerKind.Parameter"/> is named by its own name.
/// </summary>
/// <remarks>Create layers with the static factories (<see cref="Linear"/>, <see cref="Conv2d"/>, <see cref="BatchNorm"/>,
/// <see cref="LayerNorm"/>, <see cref="Embedding"/>, <see cref="Parameter"/>). Instances are immutable.</remarks>
public sealed class LayerSpec
{
    private readonly int[] _weightShape;

    private LayerSpec(string name, LayerKind kind, int inputSize, int outputSize, bool hasBias, Conv2dGeometry? geometry, WeightSharing? weightSharing, int[] weightShape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
        WeightInputSize = inputSize;
        OutputSize = outputSize;
        HasBias = hasBias;
        Geometry = geometry;
        WeightSharing = weightSharing;
        _weightShape = weightShape;
        long length = 1;
        foreach (int d in weightShape)
        {
            length *= d;
        }

        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"The weight of layer '{name}' has {length} entries, more than an array can hold.");
        }

        WeightLength = (int)length;
    }

    /// <summary>The layer's name (module path).</summary>
    public string Name { get; }

    /// <summary>The kind of layer.</summary>
    public LayerKind Kind { get; }

    /// <summary>
    /// Columns of the flattened weight, <c>D_in</c>: in-features (Linear), <c>(C_in/groups)·kh·kw</c> (Conv2d), the number
    /// of embeddings <c>V</c> (Embedding); 0 for normalisation layers and parameters.
    /// </summary>
    public int WeightInputSize { get; }

    /// <summary>
    /// Rows of the flattened weight, <c>D_out</c>: out-features (Linear), out-channels (Conv2d), the embedding size <c>D</c>
    /// (Embedding), the normalised features (BatchNorm, LayerNorm); 0 for parameters.
    /// </summary>
    public int OutputSize { get; }

    /// <summary>True when the layer has a bias (shift) parameter.</summary>
    public bool HasBias { get; }

    /// <summary>The convolution geometry (Conv2d only; null otherwise).</summary>
    public Conv2dGeometry? Geometry { get; }

    /// <summary>How weight sharing over extra input axes enters the factors for this layer; null to use the model's or
    /// optimizer's setting (<see cref="Models.WeightSharing.Expand"/> unless set there).</summary>
    public WeightSharing? WeightSharing { get; }

    /// <summary>The weight's shape: Linear <c>[D_out, D_in]</c>, Conv2d <c>[C_out, C_in/groups, kh, kw]</c>, BatchNorm and
    /// LayerNorm <c>[D]</c>, Embedding <c>[V, D]</c>, Parameter its own shape.</summary>
    public ReadOnlySpan<int> WeightShape => _weightShape;

    /// <summary>Number of entries of the weight.</summary>
    public int WeightLength { get; }

    /// <summary>Name of the weight parameter (<c>&lt;name&gt;.weight</c>; the name itself for a <see cref="LayerKind.Parameter"/>).</summary>
    public string WeightName => Kind == LayerKind.Parameter ? Name : Name + ".weight";

    /// <summary>Name of the bias parameter (<c>&lt;name&gt;.bias</c>).</summary>
    public string BiasName => Name + ".bias";

    /// <summary>True for the kinds whose curvature is Kronecker-factored from layer inputs and output gradients
    /// (Linear, Conv2d, Embedding).</summary>
    public bool IsKroneckerFactored => Kind is LayerKind.Linear or LayerKind.Conv2d or LayerKind.Embedding;

    /// <summary>A dense layer <c>y = W x + b</c> with <c>W</c> of shape <c>[outFeatures, inFeatures]</c>.</summary>
    /// <param name="name">The layer's name.</param>
    /// <param name="inFeatures">Input features <c>D_in</c>.</param>
    /// <param name="outFeatures">Output features <c>D_out</c>.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    /// <param name="weightSharing">Expand or reduce over extra input axes <c>[N, S…, D_in]</c>; null for the default.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static LayerSpec Linear(string name, int inFeatures, int outFeatures, bool bias = true, WeightSharing? weightSharing = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ValidateSharing(weightSharing);
        return new LayerSpec(name, LayerKind.Linear, inFeatures, outFeatures, bias, null, weightSharing, [outFeatures, inFeatures]);
    }

    /// <summary>A 2-D convolution (stride, padding, dilation and groups as in <paramref name="geometry"/>).</summary>
    /// <param name="name">The layer's name.</param>
    /// <param name="geometry">Channels, kernel, stride, padding, dilation, groups.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    /// <param name="weightSharing">Expand or reduce over output locations; null for the default.</param>
    public static LayerSpec Conv2d(string name, Conv2dGeometry geometry, bool bias = true, WeightSharing? weightSharing = null)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        ValidateSharing(weightSharing);
        return new LayerSpec(name, LayerKind.Conv2d, geometry.PatchSize, geometry.OutChannels, bias, geometry, weightSharing,
            [geometry.OutChannels, geometry.InChannels / geometry.Groups, geometry.KernelHeight, geometry.KernelWidth]);
    }

    /// <summary>The affine scale (weight) and shift (bias) of a batch normalisation over <paramref name="channels"/> channels.</summary>
    /// <param name="name">The layer's name.</param>
    /// <param name="channels">Channels <c>C</c>.</param>
    /// <param name="bias">Whether the layer has a shift.</param>
    public static LayerSpec BatchNorm(string name, int channels, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        return new LayerSpec(name, LayerKind.BatchNorm, 0, channels, bias, null, null, [channels]);
    }

    /// <summary>The affine scale (weight) and shift (bias) of a layer normalisation over the last axis of <paramref name="features"/> entries.</summary>
    /// <param name="name">The layer's name.</param>
    /// <param name="features">Normalised features <c>D</c> (the product of PyTorch's <c>normalized_shape</c>).</param>
    /// <param name="bias">Whether the layer has a shift.</param>
    public static LayerSpec LayerNorm(string name, int features, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        return new LayerSpec(name, LayerKind.LayerNorm, 0, features, bias, null, null, [features]);
    }

    /// <summary>An embedding table <c>[numEmbeddings, embeddingSize]</c> (no bias).</summary>
    /// <param name="name">The layer's name.</param>
    /// <param name="numEmbeddings">Number of rows <c>V</c> (vocabulary size).</param>
    /// <param name="embeddingSize">Row length <c>D</c>.</param>
    public static LayerSpec Embedding(string name, int numEmbeddings, int embeddingSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numEmbeddings, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingSize, 1);
        return new LayerSpec(name, LayerKind.Embedding, numEmbeddings, embeddingSize, false, null, null, [numEmbeddings, embeddingSize]);
    }

    /// <summary>A trainable tensor without layer structure, named <paramref name="name"/> (e.g. <c>"pos_embedding"</c>).</summary>
    /// <param name="name">The parameter's full name.</param>
    /// <param name="shape">Its shape (every dimension ≥ 1; empty for a scalar).</param>
    public static LayerSpec Parameter(string name, params ReadOnlySpan<int> shape)
    {
        foreach (int d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(d, 1, nameof(shape));
        }

        return new LayerSpec(name, LayerKind.Parameter, 0, 0, false, null, null, shape.ToArray());
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        LayerKind.Linear or LayerKind.Conv2d => $"{Kind} '{Name}' ({OutputSize} × {WeightInputSize}{(HasBias ? " + bias" : "")})",
        LayerKind.Embedding => $"Embedding '{Name}' ({WeightInputSize} × {OutputSize})",
        LayerKind.Parameter => $"Parameter '{Name}' [{string.Join(", ", _weightShape)}]",
        _ => $"{Kind} '{Name}' ({OutputSize}{(HasBias ? " + shift" : "")})",
    };

    private static void ValidateSharing(WeightSharing? sharing)
    {
        if (sharing is { } s && s is not (Models.WeightSharing.Expand or Models.WeightSharing.Reduce))
        {
            throw new ArgumentOutOfRangeException(nameof(sharing), s, "Unknown weight-sharing approximation.");
        }
    }
}
