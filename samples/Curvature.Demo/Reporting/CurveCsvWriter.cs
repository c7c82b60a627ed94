using System.Globalization;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>Writes every run's curve to one CSV file (empty cells where a value was not measured).</summary>
public static class CurveCsvWriter
{
    /// <summary>The header row.</summary>
    public const string Header = "task,optimizer,step,seconds,batch_loss,train_loss,test_loss,test_accuracy";

    /// <summary>Writes <paramref name="results"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<RunResult> results)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine(Header);
        foreach (var result in results)
        {
            foreach (var p in result.Curve)
            {
                writer.WriteLine(string.Join(',', result.TaskName, result.OptimizerName, p.Step.ToString(CultureInfo.InvariantCulture),
                    Number(p.Seconds), Number(p.BatchLoss), Number(p.TrainLoss), Number(p.TestLoss), Number(p.TestAccuracy)));
            }
        }
    }

    private static string Number(double value) => double.IsNaN(value) ? "" : value.ToString("R", CultureInfo.InvariantCulture);
}
