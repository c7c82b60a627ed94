namespace Curvature.Kfac;

/// <summary>The sizes of one layer's batch in weight-sharing format (from the raw input and gradient shapes).</summary>
/// <param name="BatchSize">N_b, examples in the batch.</param>
/// <param name="SharedPositions">S: positions sharing the weight (1 for <c>[N, D_in]</c> inputs; <c>OH·OW</c> for Conv2d).</param>
/// <param name="Vectors">V: backpropagated vectors (leading axis of the gradients; 0 when no gradients are given).</param>
/// <param name="Height">Input image height (Conv2d; 0 otherwise).</param>
/// <param name="Width">Input image width (Conv2d; 0 otherwise).</param>
public readonly record struct KfacBatchShape(int BatchSize, int SharedPositions, int Vectors, int Height, int Width);
