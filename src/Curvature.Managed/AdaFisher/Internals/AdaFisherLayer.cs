using System.Numerics;
using Curvature.Layers;

namespace Curvature.AdaFisher.Internals;

/// <summary>One registered layer: its shape, its parameters, its diagonal factors H (input side) and S (output side),
/// and the raw statistics observed for the next refresh.</summary>
internal sealed class AdaFisherLayer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public AdaFisherLayer(string name, AdaFisherLayerKind kind, int inputFeatures, int outputFeatures, Conv2dGeometry? geometry, int weightIndex, int biasIndex)
    {
        Name = name;
        Kind = kind;
        InputFeatures = inputFeatures;
        OutputFeatures = outputFeatures;
        Geometry = geometry;
        WeightIndex = weightIndex;
        BiasIndex = biasIndex;
        int hLength = kind is AdaFisherLayerKind.BatchNorm2d or AdaFisherLayerKind.LayerNorm
            ? 2
            : inputFeatures + (biasIndex >= 0 ? 1 : 0);
        H = new T[hLength];
        S = new T[outputFeatures];
        PendingH = new T[hLength];
        PendingS = new T[outputFeatures];
    }

    public string Name { get; }

    public AdaFisherLayerKind Kind { get; }

    /// <summary>Linear: D_in; Conv2d: the patch length (C_in/groups)·kh·kw; norms: 1.</summary>
    public int InputFeatures { get; }

    /// <summary>Linear: D_out; Conv2d: C_out; norms: the number of channels / features.</summary>
    public int OutputFeatures { get; }

    public Conv2dGeometry? Geometry { get; }

    public int WeightIndex { get; }

    /// <summary>Index of the bias parameter, or −1.</summary>
    public int BiasIndex { get; }

    public bool HasBias => BiasIndex >= 0;

    /// <summary>Input-side factor (with the bias feature last; norms: [weight, bias]).</summary>
    public T[] H { get; set; }

    /// <summary>Output-side factor.</summary>
    public T[] S { get; set; }

    /// <summary>Raw statistics of the last observation.</summary>
    public T[] PendingH { get; }

    public T[] PendingS { get; }

    public bool HasPending { get; set; }

    public long UpdateCount { get; set; }

    /// <summary>Patch scratch for Conv2d (grown on first use, then reused).</summary>
    public T[] Patches { get; set; } = [];

    /// <summary>Conv2d: the per-group geometry patches are extracted with (dilation dropped in official mode).</summary>
    public Conv2dGeometry? PatchGeometry { get; init; }

    public long StateElements => (2L * H.Length) + (2L * S.Length) + Patches.Length;
}
