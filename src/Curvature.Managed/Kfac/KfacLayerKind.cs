namespace Curvature.Kfac;

/// <summary>The layer types K-FAC supports (curvlinops: <c>nn.Linear</c>, <c>nn.Conv2d</c>).</summary>
public enum KfacLayerKind
{
    /// <summary>A dense layer <c>y = W x + b</c> on inputs <c>[N, D_in]</c> or <c>[N, S…, D_in]</c> (weight sharing over the middle axes).</summary>
    Linear = 0,

    /// <summary>A 2-D convolution on inputs <c>[N, C_in, H, W]</c>; patches are extracted with <see cref="Layers.Im2Col"/>.</summary>
    Conv2d = 1,
}
