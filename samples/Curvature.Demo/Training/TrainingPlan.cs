namespace Curvature.Demo.Training;

/// <summary>How every optimizer of one task is trained: the same budget, batches and evaluations for all.</summary>
public sealed record TrainingPlan
{
    /// <summary>Examples per step.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Training wall-clock seconds per optimizer (optimizer steps only); the step that crosses it is the last.</summary>
    public required double BudgetSeconds { get; init; }

    /// <summary>The training loss (on the evaluation subset) whose first crossing is timed.</summary>
    public required double TargetLoss { get; init; }

    /// <summary>Maximum steps per optimizer (null: only the budget limits the run).</summary>
    public long? StepCap { get; init; }

    /// <summary>Seed of the initial parameters and of the batch order.</summary>
    public required int Seed { get; init; }

    /// <summary>Evaluations per run after the initial one (spread evenly over the budget and over the step cap).</summary>
    public int Evaluations { get; init; } = 25;

    /// <summary>Images of the fixed training subset (the first ones) the training loss is evaluated on.</summary>
    public int EvaluationSize { get; init; } = 500;

    /// <summary>Untimed steps each optimizer takes on a throw-away copy of the model before the timed runs start.</summary>
    public int WarmUpSteps { get; init; } = 3;

    /// <summary>When set, replaces every optimizer's learning rate (<c>--lr</c>, for tuning).</summary>
    public double? LearningRate { get; init; }
}
