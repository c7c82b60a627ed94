using Curvature.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Demo.Tasks;

/// <summary>
/// A small convolutional classifier: conv(1→C1, K×K, same padding) ReLU maxpool 2, conv(C1→C2, K×K) ReLU maxpool 2,
/// linear(C2·7·7 → 10), softmax cross-entropy (mean over the batch).
/// </summary>
public sealed class CnnTask : DemoTask
{
    /// <summary>Channels of the first convolution.</summary>
    public const int Channels1 = 8;

    /// <summary>Channels of the second convolution.</summary>
    public const int Channels2 = 16;

    /// <summary>Kernel size of both convolutions.</summary>
    public const int Kernel = 5;

    /// <inheritdoc />
    public override string Key => "cnn";

    /// <inheritdoc />
    public override string Title => "CNN classifier";

    /// <inheritdoc />
    public override string Architecture =>
        $"conv(1→{Channels1}, {Kernel}×{Kernel}) ReLU maxpool2, conv({Channels1}→{Channels2}, {Kernel}×{Kernel}) ReLU maxpool2, linear({Channels2 * 49}→10)";

    /// <inheritdoc />
    public override string LossDescription => "softmax cross-entropy (mean over the batch)";

    /// <inheritdoc />
    public override string LossName => "CE";

    /// <inheritdoc />
    public override bool IsClassifier => true;

    /// <inheritdoc />
    public override LossFunction CurvatureLoss => LossFunction.CrossEntropy;

    /// <inheritdoc />
    public override int DefaultBatchSize => 128;

    /// <inheritdoc />
    public override double DefaultBudgetSeconds => 8;

    /// <inheritdoc />
    public override double DefaultTargetLoss => 0.4;

    /// <inheritdoc />
    public override string Baseline => "chance is 10 % accuracy (cross-entropy ln 10 = 2.303)";

    /// <inheritdoc />
    public override double SgdLearningRate => 0.03;

    /// <inheritdoc />
    public override double AdamLearningRate => 1e-2;

    /// <inheritdoc />
    public override nn.Module<Tensor, Tensor> CreateModel() =>
        nn.Sequential(
            ("0", nn.Conv2d(1, Channels1, Kernel, padding: Kernel / 2)),
            ("1", nn.ReLU()),
            ("2", nn.MaxPool2d(2)),
            ("3", nn.Conv2d(Channels1, Channels2, Kernel, padding: Kernel / 2)),
            ("4", nn.ReLU()),
            ("5", nn.MaxPool2d(2)),
            ("6", nn.Flatten()),
            ("7", nn.Linear(Channels2 * 7 * 7, 10)));

    /// <inheritdoc />
    public override Tensor Input(Tensor images) => images.view(-1, 1, 28, 28);

    /// <inheritdoc />
    public override Tensor ComputeLoss(Tensor output, Tensor images, Tensor labels) =>
        nn.functional.cross_entropy(output, labels);
}
