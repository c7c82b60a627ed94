using System.Globalization;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>
/// Writes every run's curve to one CSV file: one row per step with its batch loss and training time, and the evaluation
/// columns filled on the rows where the model was evaluated (step 0 is the initial model; empty cells where a value was
/// not measured).
/// </summary>
public static class CurveCsvWriter
{
    /// <summary>The header row.</summary>
    public const string Header = "task,optimizer,step,seconds,batch_loss,train_loss,test_loss,test_accuracy";

    /// <summary>Writes <paramref name="tasks"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<TaskResults> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        using var writer = new StreamWriter(path);
        writer.Write(Header + "\n");
        foreach (var run in tasks.SelectMany(t => t.Runs))
        {
            var evaluations = run.Evaluations.ToDictionary(e => e.Step);
            for (long step = 0; step <= run.Steps; step++)
            {
                bool evaluated = evaluations.TryGetValue(step, out var e);
                double seconds = step == 0 ? 0 : run.StepSeconds[(int)step - 1];
                double batch = step == 0 ? double.NaN : run.StepLosses[(int)step - 1];
                writer.Write(string.Join(',', run.TaskKey, run.OptimizerKey, step.ToString(CultureInfo.InvariantCulture), Number(seconds), Number(batch),
                    evaluated ? Number(e.TrainLoss) : "", evaluated ? Number(e.TestLoss) : "", evaluated ? Number(e.TestAccuracy) : ""));
                writer.Write('\n');
            }
        }
    }

    private static string Number(double value) => double.IsNaN(value) ? "" : value.ToString("R", CultureInfo.InvariantCulture);
}
