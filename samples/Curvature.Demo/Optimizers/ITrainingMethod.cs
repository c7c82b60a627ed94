using Curvature.Demo.Training;

namespace Curvature.Demo.Optimizers;

/// <summary>One optimizer attached to one model: one call of <see cref="Step"/> per mini-batch.</summary>
public interface ITrainingMethod : IDisposable
{
    /// <summary>The hyper-parameters in use, for the results table, e.g. <c>lr 1e-3</c>.</summary>
    string Settings { get; }

    /// <summary>
    /// One training step: forward pass, loss, backward pass and parameter update on <paramref name="batch"/>.
    /// Tensors made during the step are disposed before it returns.
    /// </summary>
    /// <returns>The mean loss on the batch before the update (not finite when training diverged; the parameters are
    /// then not updated).</returns>
    double Step(TrainingBatch batch);
}
