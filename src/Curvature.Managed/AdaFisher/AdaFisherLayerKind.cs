namespace Curvature.AdaFisher;

/// <summary>The layer kinds AdaFisher builds diagonal Kronecker factors for.</summary>
public enum AdaFisherLayerKind
{
    /// <summary>Fully connected layer; inputs <c>[..., D_in]</c> (sequence inputs <c>[N, S, D_in]</c> are flattened to rows).</summary>
    Linear,

    /// <summary>2-D convolution; inputs <c>[N, C_in, H, W]</c>.</summary>
    Conv2d,

    /// <summary>Batch normalisation over channels; inputs <c>[N, C, H, W]</c>.</summary>
    BatchNorm2d,

    /// <summary>Layer normalisation over the last axis; inputs <c>[N, T, ..., D]</c>.</summary>
    LayerNorm,
}
