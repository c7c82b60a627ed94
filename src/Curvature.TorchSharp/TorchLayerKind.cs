namespace Curvature.TorchSharp;

/// <summary>The TorchSharp layer types whose inputs and output gradients the bridge captures.</summary>
public enum TorchLayerKind
{
    /// <summary><c>nn.Linear</c>, applied to inputs <c>[N, D_in]</c> or <c>[N, S…, D_in]</c> (weight sharing over S).</summary>
    Linear = 0,

    /// <summary><c>nn.Conv2d</c> with zero padding, applied to inputs <c>[N, C_in, H, W]</c>.</summary>
    Conv2d = 1,

    /// <summary><c>nn.BatchNorm1d</c> with a learnable scale (and shift), inputs <c>[N, C]</c> or <c>[N, C, L]</c>.</summary>
    BatchNorm1d = 2,

    /// <summary><c>nn.BatchNorm2d</c> with a learnable scale (and shift), inputs <c>[N, C, H, W]</c>.</summary>
    BatchNorm2d = 3,

    /// <summary><c>nn.LayerNorm</c> with a learnable scale (and shift), inputs <c>[N, …, normalized_shape]</c>.</summary>
    LayerNorm = 4,

    /// <summary><c>nn.Embedding</c>, applied to integer indices <c>[N, S…]</c>.</summary>
    Embedding = 5,
}
