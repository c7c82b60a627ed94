namespace Curvature.Demo.Training;

/// <summary>The outcome of training one optimizer on one task.</summary>
public sealed class RunResult
{
    /// <summary>The task's key.</summary>
    public required string TaskKey { get; init; }

    /// <summary>The optimizer's key.</summary>
    public required string OptimizerKey { get; init; }

    /// <summary>The optimizer's display name.</summary>
    public required string OptimizerName { get; init; }

    /// <summary>The optimizer's hyper-parameters.</summary>
    public required string Settings { get; init; }

    /// <summary>The batch loss of every step (before its update), index 0 = step 1.</summary>
    public required IReadOnlyList<double> StepLosses { get; init; }

    /// <summary>Training wall time after every step, index 0 = step 1.</summary>
    public required IReadOnlyList<double> StepSeconds { get; init; }

    /// <summary>The evaluations, from the initial model to the last step.</summary>
    public required IReadOnlyList<CurvePoint> Evaluations { get; init; }

    /// <summary>Steps completed.</summary>
    public long Steps => StepLosses.Count;

    /// <summary>Training wall time: the optimizer steps only (batch gathering and evaluations excluded).</summary>
    public required double TrainingSeconds { get; init; }

    /// <summary>Wall time of the whole run, evaluations included.</summary>
    public required double WallSeconds { get; init; }

    /// <summary>Why the run ended.</summary>
    public required StopReason StopReason { get; init; }

    /// <summary>What went wrong, when the run diverged.</summary>
    public string? DivergenceReason { get; init; }

    /// <summary>Whether the loss became NaN or infinite (or the optimizer rejected a step).</summary>
    public bool Diverged => StopReason == StopReason.Diverged;

    /// <summary>First evaluation step whose training loss was at or below the task's target.</summary>
    public long? StepsToTarget { get; init; }

    /// <summary>Training wall time at <see cref="StepsToTarget"/>.</summary>
    public double? SecondsToTarget { get; init; }

    /// <summary>Final training loss (training-evaluation subset).</summary>
    public required double FinalTrainLoss { get; init; }

    /// <summary>Final test loss (the whole test set in use).</summary>
    public required double FinalTestLoss { get; init; }

    /// <summary>Final test accuracy (classifiers; NaN otherwise).</summary>
    public required double FinalTestAccuracy { get; init; }

    /// <summary>Mean wall time of one step, in milliseconds.</summary>
    public double MillisecondsPerStep => Steps == 0 ? double.NaN : 1000 * TrainingSeconds / Steps;
}
