using Curvature.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Demo.Tasks;

/// <summary>
/// One training problem of the demo on Fashion-MNIST: the TorchSharp model, its loss, batch size, wall-clock budget,
/// target training loss and the tuned learning rates of the first-order baselines.
/// </summary>
public abstract class DemoTask
{
    private const int EvaluationChunk = 1000;

    /// <summary>Key on the command line and in the CSV and JSON, e.g. <c>autoencoder</c>.</summary>
    public abstract string Key { get; }

    /// <summary>Heading of the table and plot.</summary>
    public abstract string Title { get; }

    /// <summary>One line on the architecture.</summary>
    public abstract string Architecture { get; }

    /// <summary>One line on the loss and its units.</summary>
    public abstract string LossDescription { get; }

    /// <summary>Short loss name for column headers, e.g. <c>BCE</c>.</summary>
    public abstract string LossName { get; }

    /// <summary>Whether the task is a classifier (test accuracy is reported).</summary>
    public abstract bool IsClassifier { get; }

    /// <summary>The loss as Curvature names it (for type-2 and Monte-Carlo Fisher vectors).</summary>
    public abstract LossFunction CurvatureLoss { get; }

    /// <summary>Examples per step when <c>--batch-size</c> is not given.</summary>
    public abstract int DefaultBatchSize { get; }

    /// <summary>Training wall-clock seconds per optimizer when <c>--budget</c> is not given.</summary>
    public abstract double DefaultBudgetSeconds { get; }

    /// <summary>The training loss (on the evaluation subset) whose first crossing is timed, when <c>--target</c> is not given.</summary>
    public abstract double DefaultTargetLoss { get; }

    /// <summary>What a trivial model scores, to put the numbers in context.</summary>
    public abstract string Baseline { get; }

    /// <summary>Learning rate of SGD with momentum 0.9 (tuned once; see the demo's README).</summary>
    public abstract double SgdLearningRate { get; }

    /// <summary>Learning rate of Adam (tuned once; see the demo's README).</summary>
    public abstract double AdamLearningRate { get; }

    /// <summary>Builds the model (float32, PyTorch's default initialisation from torch's global generator: seed it first).</summary>
    public abstract nn.Module<Tensor, Tensor> CreateModel();

    /// <summary>The model input for images <c>[N, 784]</c>.</summary>
    public abstract Tensor Input(Tensor images);

    /// <summary>The mean training loss of a batch.</summary>
    /// <param name="output">The model output.</param>
    /// <param name="images">The batch's images <c>[N, 784]</c> (the autoencoder's targets).</param>
    /// <param name="labels">The batch's labels <c>[N]</c> (the classifier's targets).</param>
    public abstract Tensor ComputeLoss(Tensor output, Tensor images, Tensor labels);

    /// <summary>The mean loss (and, for a classifier, the accuracy) of <paramref name="model"/> on the first
    /// <paramref name="count"/> images, without gradients.</summary>
    public (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        count = Math.Min(count, (int)labels.shape[0]);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double total = 0;
        long correct = 0;
        for (int start = 0; start < count; start += EvaluationChunk)
        {
            int length = Math.Min(EvaluationChunk, count - start);
            var x = images.narrow(0, start, length);
            var y = labels.narrow(0, start, length);
            var output = model.call(Input(x));
            total += ComputeLoss(output, x, y).item<float>() * (double)length;
            if (IsClassifier)
            {
                correct += output.argmax(1).eq(y).sum().item<long>();
            }
        }

        return (total / count, IsClassifier ? (double)correct / count : double.NaN);
    }

    /// <summary>Parameters of <paramref name="model"/>.</summary>
    public static long ParameterCount(nn.Module model) => model.parameters().Sum(p => p.numel());
}
