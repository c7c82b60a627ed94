using Curvature.Backends;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>What an optimizer factory gets to build an optimizer for one task.</summary>
/// <param name="Model">The model it will train (architecture, loss kind, backend).</param>
/// <param name="TaskName">The task, e.g. <c>autoencoder</c>.</param>
/// <param name="LearningRate">The task's learning rate for this optimizer (see <c>DemoTask.LearningRates</c>).</param>
/// <param name="Steps">The number of steps the run will make.</param>
/// <param name="Seed">The run's seed (e.g. for Monte-Carlo Fisher sampling).</param>
public sealed record OptimizerSetup(Model Model, string TaskName, double LearningRate, int Steps, int Seed)
{
    /// <summary>The backend the model computes with; curvature methods should use the same one.</summary>
    public CurvatureBackend Backend => Model.Backend;
}
