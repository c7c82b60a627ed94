namespace Curvature.Demo.Training;

/// <summary>The outcome of training one optimizer on one task.</summary>
public sealed class RunResult
{
    /// <summary>The task's key.</summary>
    public required string TaskName { get; init; }

    /// <summary>The optimizer's display name.</summary>
    public required string OptimizerName { get; init; }

    /// <summary>The optimizer's hyper-parameters.</summary>
    public required string Settings { get; init; }

    /// <summary>Every step, with evaluations where they were made.</summary>
    public required IReadOnlyList<CurvePoint> Curve { get; init; }

    /// <summary>Steps completed (fewer than planned if training diverged).</summary>
    public required int Steps { get; init; }

    /// <summary>Total training wall time (optimizer steps only).</summary>
    public required double TrainingSeconds { get; init; }

    /// <summary>Whether the loss became NaN or infinite.</summary>
    public required bool Diverged { get; init; }

    /// <summary>First evaluation step whose training loss was at or below the task's target.</summary>
    public int? StepsToTarget { get; init; }

    /// <summary>Training wall time at <see cref="StepsToTarget"/>.</summary>
    public double? SecondsToTarget { get; init; }

    /// <summary>The last evaluation.</summary>
    public CurvePoint Final => Curve.Last(p => p.IsEvaluation);

    /// <summary>Mean wall time of one step, in milliseconds.</summary>
    public double MillisecondsPerStep => Steps == 0 ? double.NaN : 1000 * TrainingSeconds / Steps;
}
