namespace Curvature.Demo.Optimizers;

/// <summary>An optimizer the demo can run, by its command-line key.</summary>
/// <param name="Key">The name used with <c>--optimizers</c>, e.g. <c>kfac</c>.</param>
/// <param name="DisplayName">The name in the table and plot.</param>
/// <param name="Create">Attaches the optimizer to one task's model; <see langword="null"/> while it is not wired in.</param>
/// <param name="Note">Why it is unavailable, when <paramref name="Create"/> is <see langword="null"/>.</param>
public sealed record OptimizerDefinition(string Key, string DisplayName, Func<TrainingSetup, ITrainingMethod>? Create, string? Note = null)
{
    /// <summary>Whether the demo can run it.</summary>
    public bool IsAvailable => Create is not null;
}
