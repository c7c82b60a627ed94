using Curvature.Loss;
using static TorchSharp.torch;

namespace Curvature.TorchSharp;

/// <summary>
/// Which Fisher a <see cref="TorchCurvatureOptimizer{T}"/> observes each layer with, and so which output gradients
/// <c>g</c> it hands the optimizer: the training loss's own gradient (<see cref="Empirical"/>), or loss-side vectors
/// backpropagated through libtorch (<see cref="Type2"/>, <see cref="MonteCarlo"/>, or your own with <see cref="Vectors"/>).
/// </summary>
/// <remarks>The vectors of <see cref="Type2"/> and <see cref="MonteCarlo"/> are curvlinops' (see
/// <see cref="BackpropagatedVectors"/>) for the loss and the reduction the optimizer is set to
/// (<see cref="Optimizers.OptimizerOptions.Reduction"/>), so the factors approximate the Fisher / Gauss-Newton matrix of
/// that loss.</remarks>
public sealed class TorchFisher
{
    private TorchFisher(FisherType type, LossFunction loss, int samples, int seed, Func<Tensor, Tensor>? vectors)
    {
        Type = type;
        Loss = loss;
        Samples = samples;
        Seed = seed;
        VectorFunction = vectors;
    }

    /// <summary>
    /// The empirical Fisher: <c>g</c> is <c>∂L/∂(layer output)</c> of the training loss <c>L</c> exactly as its backward pass
    /// computes it (kept from that one backward pass; no extra pass). Works with any loss. For a loss averaged over several
    /// entries per example (e.g. PyTorch's mean-reduced MSE over <c>C</c> outputs), this is the empirical Fisher of the
    /// per-example losses that make up <c>L</c>; curvlinops' empirical Fisher of a mean-reduced MSE or BCE loss is
    /// <c>C</c> times larger in its output factor.
    /// </summary>
    public static TorchFisher Empirical { get; } = new(FisherType.Empirical, default, 1, 0, null);

    /// <summary>The Fisher type (caller vectors: Monte-Carlo, i.e. backpropagated vectors).</summary>
    internal FisherType Type { get; }

    /// <summary>The loss whose vectors are backpropagated (type-2 and Monte-Carlo only).</summary>
    internal LossFunction Loss { get; }

    /// <summary>Monte-Carlo samples per example (1 otherwise).</summary>
    internal int Samples { get; }

    /// <summary>Seed of the Monte-Carlo draws (0 otherwise).</summary>
    internal int Seed { get; }

    /// <summary>The caller's vector function (null unless made with <see cref="Vectors"/>).</summary>
    internal Func<Tensor, Tensor>? VectorFunction { get; }

    /// <summary>
    /// The type-2 Fisher (the exact Gauss-Newton matrix in K-FAC's factored form): <c>C</c> vectors, the columns of a square
    /// root of the loss Hessian with respect to the model output, backpropagated each step (one partial backward pass per
    /// output entry of an example, so <c>C</c> passes).
    /// </summary>
    /// <param name="loss">The training loss applied to the model output (logits for cross-entropy and BCE).</param>
    public static TorchFisher Type2(LossFunction loss) => new(FisherType.Type2, CheckLoss(loss), 1, 0, null);

    /// <summary>
    /// The Monte-Carlo Fisher: gradients for targets sampled from the model's predictive distribution, <paramref name="samples"/>
    /// per example (one partial backward pass each).
    /// </summary>
    /// <param name="loss">The training loss applied to the model output.</param>
    /// <param name="samples">Samples per example (≥ 1; KFAC-JAX and kfac-pytorch use 1).</param>
    /// <param name="seed">Seed of the draws (they are not PyTorch's random stream).</param>
    public static TorchFisher MonteCarlo(LossFunction loss, int samples = 1, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        return new(FisherType.MonteCarlo, CheckLoss(loss), samples, seed, null);
    }

    /// <summary>
    /// Your own loss-side vectors: <paramref name="vectors"/> gets the model output <c>[N, …]</c> and returns
    /// <c>[V, N, …]</c> (same element type) — for example a square root of your loss's Hessian, scaled as
    /// <see cref="BackpropagatedVectors"/> scales curvlinops' (with the <c>1/(N·P)</c> of a mean-reduced loss). The bridge
    /// backpropagates each slice and disposes the returned tensor.
    /// </summary>
    public static TorchFisher Vectors(Func<Tensor, Tensor> vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        return new(FisherType.MonteCarlo, default, 1, 0, vectors);
    }

    /// <inheritdoc />
    public override string ToString() => VectorFunction is not null ? "caller vectors" : Type switch
    {
        FisherType.Empirical => "empirical",
        FisherType.Type2 => $"type-2 ({Loss})",
        _ => $"Monte-Carlo ({Loss}, {Samples} sample{(Samples == 1 ? "" : "s")}, seed {Seed})",
    };

    private static LossFunction CheckLoss(LossFunction loss) =>
        loss is LossFunction.MeanSquaredError or LossFunction.CrossEntropy or LossFunction.BinaryCrossEntropyWithLogits
            ? loss
            : throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
}
