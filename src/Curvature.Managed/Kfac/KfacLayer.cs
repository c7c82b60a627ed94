using Curvature.Layers;

namespace Curvature.Kfac;

/// <summary>
/// Describes one layer whose parameters K-FAC approximates: its name (e.g. the PyTorch module path <c>"0"</c>), kind,
/// sizes and whether it has a bias. Parameter names are <c>&lt;name&gt;.weight</c> and <c>&lt;name&gt;.bias</c>. Immutable.
/// </summary>
public sealed class KfacLayer
{
    private KfacLayer(string name, KfacLayerKind kind, int inputSize, int outputSize, bool hasBias, Conv2dGeometry? geometry)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
        WeightInputSize = inputSize;
        OutputSize = outputSize;
        HasBias = hasBias;
        Geometry = geometry;
    }

    /// <summary>The layer's name (module path).</summary>
    public string Name { get; }

    /// <summary>Linear or Conv2d.</summary>
    public KfacLayerKind Kind { get; }

    /// <summary>Columns of the flattened weight, <c>D_in</c>: in-features (Linear) or <c>C_in·kh·kw</c> (Conv2d).</summary>
    public int WeightInputSize { get; }

    /// <summary>Rows of the flattened weight, <c>D_out</c>: out-features or out-channels.</summary>
    public int OutputSize { get; }

    /// <summary>True when the layer has a bias parameter.</summary>
    public bool HasBias { get; }

    /// <summary>The convolution geometry (null for Linear layers).</summary>
    public Conv2dGeometry? Geometry { get; }

    /// <summary>The weight's shape: <c>[D_out, D_in]</c> or <c>[C_out, C_in, kh, kw]</c>.</summary>
    public int[] WeightShape => Geometry is { } g
        ? [g.OutChannels, g.InChannels, g.KernelHeight, g.KernelWidth]
        : [OutputSize, WeightInputSize];

    /// <summary>Name of the weight parameter.</summary>
    public string WeightName => Name + ".weight";

    /// <summary>Name of the bias parameter.</summary>
    public string BiasName => Name + ".bias";

    /// <summary>A dense layer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static KfacLayer Linear(string name, int inFeatures, int outFeatures, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        return new KfacLayer(name, KfacLayerKind.Linear, inFeatures, outFeatures, bias, null);
    }

    /// <summary>A 2-D convolution.</summary>
    /// <exception cref="NotSupportedException">The convolution is grouped (curvlinops averages patches over groups; not implemented here).</exception>
    public static KfacLayer Conv2d(string name, Conv2dGeometry geometry, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        if (geometry.Groups != 1)
        {
            throw new NotSupportedException($"K-FAC for grouped convolutions (layer '{name}', groups = {geometry.Groups}) is not supported.");
        }

        return new KfacLayer(name, KfacLayerKind.Conv2d, geometry.PatchSize, geometry.OutChannels, bias, geometry);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind} '{Name}' ({OutputSize} × {WeightInputSize}{(HasBias ? " + bias" : "")})";
}
