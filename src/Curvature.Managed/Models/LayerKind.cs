namespace Curvature.Models;

/// <summary>The kinds of layer a <see cref="ModelSpec"/> describes; each kind has its own observation shapes and curvature block.</summary>
public enum LayerKind
{
    /// <summary>
    /// A dense layer <c>y = W x + b</c>, <c>W</c> of shape <c>[D_out, D_in]</c>, on inputs <c>[N, D_in]</c> or
    /// <c>[N, S…, D_in]</c> (weight sharing over the middle axes). Kronecker-factored curvature.
    /// </summary>
    Linear = 0,

    /// <summary>
    /// A 2-D convolution (PyTorch <c>nn.Conv2d</c>) on inputs <c>[N, C_in, H, W]</c>, weight <c>[C_out, C_in/groups, kh, kw]</c>;
    /// patches as <c>torch.nn.functional.unfold</c>, averaged over channel groups (curvlinops). Kronecker-factored curvature.
    /// </summary>
    Conv2d = 1,

    /// <summary>
    /// The affine part of a batch normalisation over channels (PyTorch <c>nn.BatchNorm1d/2d</c>): scale and shift of
    /// <c>C</c> entries on normalised inputs <c>[N, C]</c> or <c>[N, C, H, W]</c>. Diagonal curvature.
    /// </summary>
    BatchNorm = 2,

    /// <summary>
    /// The affine part of a layer normalisation (PyTorch <c>nn.LayerNorm</c>): scale and shift of <c>D</c> entries on
    /// normalised inputs <c>[N, S…, D]</c>. Diagonal curvature.
    /// </summary>
    LayerNorm = 3,

    /// <summary>
    /// An embedding table (PyTorch <c>nn.Embedding</c>) <c>[V, D]</c> looked up by integer indices <c>[N, S…]</c>.
    /// Kronecker-factored curvature with a diagonal input factor (index frequencies).
    /// </summary>
    Embedding = 4,

    /// <summary>A parameter without layer structure; its curvature comes from its own gradient (block-diagonal Fisher).</summary>
    Parameter = 5,
}
