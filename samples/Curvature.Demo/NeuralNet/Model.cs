using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Demo.Data;

namespace Curvature.Demo.NeuralNet;

/// <summary>A network together with its loss: what an optimizer's <c>Step</c> trains.</summary>
public sealed class Model
{
    /// <summary>Wraps <paramref name="network"/> and the loss it is trained with.</summary>
    public Model(Network network, LossKind loss)
    {
        Network = network;
        LossKind = loss;
    }

    /// <summary>The layers and their recorded inputs / output gradients.</summary>
    public Network Network { get; }

    /// <summary>The training loss (mean-reduced).</summary>
    public LossKind LossKind { get; }

    /// <summary>The backend doing the matrix products.</summary>
    public CurvatureBackend Backend => Network.Backend;

    /// <summary>The layers, input side first.</summary>
    public IReadOnlyList<DenseLayer> Layers => Network.Layers;

    /// <summary>All trainable tensors.</summary>
    public IReadOnlyList<Parameter> Parameters => Network.Parameters;

    /// <summary>Network outputs of the last forward pass, <c>[N, C]</c> (logits for cross-entropy).</summary>
    public ReadOnlySpan2D<double> Outputs => Network.Outputs;

    /// <summary>
    /// Forward pass, loss, and backward pass on <paramref name="batch"/>. Afterwards every parameter's
    /// <see cref="Parameter.Gradient"/> holds the gradient of the mean batch loss, and every layer holds its input
    /// <c>a</c> and the loss gradient at its output <c>g</c> (which includes the loss's <c>1/N</c>).
    /// </summary>
    /// <returns>The mean loss on the batch.</returns>
    public double ComputeLossAndGradients(Batch batch)
    {
        var outputs = Network.Forward(batch.Inputs);
        double loss = NeuralNet.Loss.Evaluate(LossKind, outputs, batch, Network.OutputGradientBuffer, out _);
        Network.Backward(parameterGradients: true);
        return loss;
    }

    /// <summary>
    /// Backpropagates arbitrary vectors <paramref name="vectors"/> (<c>[N, C]</c>, one per row, w.r.t. the network
    /// outputs of the last forward pass) to every layer's <see cref="DenseLayer.OutputGradient"/>, leaving parameter
    /// gradients untouched: <c>g_l = J_lᵀ v</c>. This is what K-FAC's type-2 and Monte-Carlo Fisher need: the loss side
    /// supplies special output vectors (a loss-Hessian square-root column, or a sampled-label gradient) and each one
    /// is backpropagated in turn. Call it after <see cref="ComputeLossAndGradients"/> (or <see cref="Network.Forward"/>);
    /// read the layers' output gradients before the next call.
    /// </summary>
    public void BackpropagateOutputVectors(ReadOnlySpan2D<double> vectors)
    {
        var buffer = Network.OutputGradientBuffer;
        if (vectors.Height != buffer.Height || vectors.Width != buffer.Width)
        {
            throw new ArgumentException($"Expected [{buffer.Height}, {buffer.Width}] output vectors, got [{vectors.Height}, {vectors.Width}].", nameof(vectors));
        }

        vectors.CopyTo(buffer);
        Network.Backward(parameterGradients: false);
    }

    /// <summary>
    /// Mean loss (and accuracy, for classification) over the first <paramref name="limit"/> examples of a data set
    /// (all by default), in chunks that fit the buffers.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Dataset data, Batch scratch, int limit = int.MaxValue)
    {
        double total = 0;
        int correct = 0;
        int examples = Math.Min(limit, data.Count);
        for (int start = 0; start < examples; start += scratch.Capacity)
        {
            int count = Math.Min(scratch.Capacity, examples - start);
            data.Slice(start, count, scratch);
            var outputs = Network.Forward(scratch.Inputs);
            total += count * NeuralNet.Loss.Evaluate(LossKind, outputs, scratch, Span2D<double>.Empty, out int right);
            correct += right;
        }

        return (total / examples, LossKind == LossKind.CrossEntropy ? (double)correct / examples : double.NaN);
    }
}
