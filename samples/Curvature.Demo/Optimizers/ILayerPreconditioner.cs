using CommunityToolkit.HighPerformance;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// The demo-side contract for a per-layer curvature preconditioner (K-FAC, EKFAC, …), driven by
/// <see cref="PreconditionedOptimizer"/>. An adapter implements it on top of a Curvature preconditioner.
/// </summary>
public interface ILayerPreconditioner
{
    /// <summary>Display name, e.g. <c>K-FAC</c>.</summary>
    string Name { get; }

    /// <summary>Its hyper-parameters for the results table, e.g. <c>damping 1e-3, T_inv 10</c>.</summary>
    string Settings { get; }

    /// <summary>
    /// Called once per step, right after <see cref="Model.ComputeLossAndGradients"/>: every layer holds its input
    /// <c>a</c> (<see cref="DenseLayer.Input"/>) and the loss gradient at its output <c>g</c>
    /// (<see cref="DenseLayer.OutputGradient"/>, the empirical-Fisher vectors). A type-2 or Monte-Carlo Fisher asks
    /// the library's loss side for its output vectors (from <see cref="Model.Outputs"/> and the batch), calls
    /// <see cref="Model.BackpropagateOutputVectors"/> for each, and reads the layers' new <c>g</c> after each call.
    /// Parameter gradients are not changed by that.
    /// </summary>
    /// <param name="model">The model after the forward and backward pass of this step.</param>
    /// <param name="batch">This step's batch (targets / labels, if the Fisher needs them).</param>
    /// <param name="step">1-based step number (for update periods and running averages).</param>
    void UpdateCurvature(Model model, Batch batch, int step);

    /// <summary>
    /// Writes the preconditioned gradient of layer <paramref name="layer"/> into <paramref name="direction"/>; both
    /// in the joint row-major layout <c>[W | b]</c>, <c>[D_out, D_in + 1]</c> (Curvature's factor order [G, A]).
    /// </summary>
    void Precondition(int layer, ReadOnlySpan2D<double> gradient, Span2D<double> direction);
}
