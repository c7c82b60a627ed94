using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>One training algorithm as the demo drives it: one call of <see cref="Step"/> per mini-batch.</summary>
public interface ITrainingOptimizer
{
    /// <summary>Display name, e.g. <c>Adam</c>.</summary>
    string Name { get; }

    /// <summary>The hyper-parameters in use, for the results table, e.g. <c>lr 1e-3</c>.</summary>
    string Settings { get; }

    /// <summary>
    /// Computes the loss and gradients on <paramref name="batch"/> (and any curvature statistics it needs) and updates
    /// the model's parameters once.
    /// </summary>
    /// <returns>The mean loss on the batch before the update.</returns>
    double Step(Model model, Batch batch);
}
