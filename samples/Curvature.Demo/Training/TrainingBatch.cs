using static TorchSharp.torch;

namespace Curvature.Demo.Training;

/// <summary>One mini-batch, gathered into contiguous tensors before the clock starts.</summary>
/// <param name="Input">The model input.</param>
/// <param name="Images">The images <c>[N, 784]</c> (the autoencoder's targets).</param>
/// <param name="Labels">The labels <c>[N]</c> (the classifier's targets).</param>
public sealed record TrainingBatch(Tensor Input, Tensor Images, Tensor Labels);
