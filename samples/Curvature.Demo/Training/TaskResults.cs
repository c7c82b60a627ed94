using Curvature.Demo.Tasks;

namespace Curvature.Demo.Training;

/// <summary>Every optimizer's run on one task.</summary>
/// <param name="Task">The task.</param>
/// <param name="Plan">The plan every run followed.</param>
/// <param name="ParameterCount">Trainable parameters of the model.</param>
/// <param name="TrainEvaluationCount">Images of the training subset the training loss is evaluated on.</param>
/// <param name="TestCount">Images of the test set the final test metrics use.</param>
/// <param name="Runs">One result per optimizer, in table order.</param>
public sealed record TaskResults(DemoTask Task, TrainingPlan Plan, long ParameterCount, int TrainEvaluationCount, int TestCount, IReadOnlyList<RunResult> Runs);
