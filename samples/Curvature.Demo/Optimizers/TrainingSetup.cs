using Curvature.Backends;
using Curvature.Demo.Tasks;
using static TorchSharp.torch;

namespace Curvature.Demo.Optimizers;

/// <summary>What an optimizer is built for: one task's freshly initialised model.</summary>
/// <param name="Task">The task (loss, tuned learning rates).</param>
/// <param name="Model">The model, already holding the shared initial parameters.</param>
/// <param name="Backend">The Curvature backend (<c>--backend</c>, <c>--threads</c>).</param>
/// <param name="Seed">The run's seed (for the optimizer's own sampling, if any).</param>
/// <param name="LearningRate">When set (<c>--lr</c>), replaces the optimizer's learning rate.</param>
public sealed record TrainingSetup(DemoTask Task, nn.Module<Tensor, Tensor> Model, CurvatureBackend Backend, int Seed, double? LearningRate = null);
