namespace Curvature.Demo.Optimizers;

/// <summary>An optimizer the demo can run, by its command-line key.</summary>
/// <param name="Key">The name used with <c>--optimizers</c>, e.g. <c>kfac</c>.</param>
/// <param name="DisplayName">The name in the table and plot.</param>
/// <param name="Create">Attaches the optimizer to one task's freshly initialised model.</param>
public sealed record OptimizerDefinition(string Key, string DisplayName, Func<TrainingSetup, ITrainingMethod> Create);
