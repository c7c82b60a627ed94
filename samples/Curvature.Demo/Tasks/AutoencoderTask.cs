using Curvature.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Demo.Tasks;

/// <summary>
/// The deep autoencoder of Hinton &amp; Salakhutdinov (2006), the classic K-FAC benchmark (Martens &amp; Grosse 2015):
/// 784-1000-500-250-30-250-500-1000-784 with logistic sigmoid hidden units, a linear 30-unit code layer and a sigmoid
/// output trained with binary cross-entropy against the pixels in [0, 1] (computed from the last pre-activation,
/// BCE-with-logits, averaged over pixels and images).
/// </summary>
public sealed class AutoencoderTask : DemoTask
{
    /// <summary>Layer widths from the input to the reconstruction.</summary>
    public static IReadOnlyList<int> Sizes { get; } = [784, 1000, 500, 250, 30, 250, 500, 1000, 784];

    private const int CodeLayer = 4;

    /// <inheritdoc />
    public override string Key => "autoencoder";

    /// <inheritdoc />
    public override string Title => "Deep autoencoder";

    /// <inheritdoc />
    public override string Architecture => $"{string.Join('-', Sizes)}, sigmoid hidden units, linear 30-unit code, sigmoid output";

    /// <inheritdoc />
    public override string LossDescription => "binary cross-entropy per pixel (BCE-with-logits, mean over pixels and images; ×784 = nats per image)";

    /// <inheritdoc />
    public override string LossName => "BCE";

    /// <inheritdoc />
    public override bool IsClassifier => false;

    /// <inheritdoc />
    public override LossFunction CurvatureLoss => LossFunction.BinaryCrossEntropyWithLogits;

    /// <inheritdoc />
    public override int DefaultBatchSize => 128;

    /// <inheritdoc />
    public override double DefaultBudgetSeconds => 15;

    /// <inheritdoc />
    public override double DefaultTargetLoss => 0.4;

    /// <inheritdoc />
    public override string Baseline =>
        "the pixels' own entropy (the floor of this loss) is 0.240; predicting each pixel's training mean gives 0.490, the plateau first-order methods start on";

    /// <inheritdoc />
    public override double SgdLearningRate => 30;

    /// <inheritdoc />
    public override double AdamLearningRate => 3e-3;

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> CreateModel()
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < Sizes.Count - 1; i++)
        {
            layers.Add(($"{layers.Count}", nn.Linear(Sizes[i], Sizes[i + 1])));
            int outputIndex = i + 1;
            if (outputIndex != CodeLayer && outputIndex != Sizes.Count - 1)
            {
                layers.Add(($"{layers.Count}", nn.Sigmoid()));
            }
        }

        return nn.Sequential(layers);
    }

    /// <inheritdoc />
    public override Tensor Input(Tensor images) => images;

    /// <inheritdoc />
    public override Tensor ComputeLoss(Tensor output, Tensor images, Tensor labels) =>
        nn.functional.binary_cross_entropy_with_logits(output, images);
}
