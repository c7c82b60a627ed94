using System.Globalization;
using System.Text;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>Formats one task's results as an aligned text table.</summary>
public static class ResultsTable
{
    /// <summary>Renders the table of <paramref name="results"/> (one row per optimizer) with a line on where it ran.</summary>
    public static string Render(TaskResults results, RunEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(environment);
        var task = results.Task;
        string target = Format(results.Plan.TargetLoss);
        var header = new List<string> { "optimizer", $"train {task.LossName}", $"test {task.LossName}" };
        if (task.IsClassifier)
        {
            header.Add("test acc");
        }

        header.AddRange([$"steps to {target}", $"time to {target}", "steps", "ms/step", "train time", "settings"]);
        var rows = new List<string[]> { header.ToArray() };
        foreach (var r in results.Runs)
        {
            var row = new List<string> { r.OptimizerName, Format(r.FinalTrainLoss), Format(r.FinalTestLoss) };
            if (task.IsClassifier)
            {
                row.Add(double.IsNaN(r.FinalTestAccuracy) ? "-" : r.FinalTestAccuracy.ToString("P1", CultureInfo.InvariantCulture));
            }

            row.Add(r.StepsToTarget?.ToString(CultureInfo.InvariantCulture) ?? (r.Diverged ? "diverged" : "not reached"));
            row.Add(r.SecondsToTarget is double s ? Seconds(s) : "-");
            row.Add(r.Steps.ToString(CultureInfo.InvariantCulture) + (r.Diverged ? " (diverged)" : ""));
            row.Add(r.MillisecondsPerStep.ToString("0.0", CultureInfo.InvariantCulture));
            row.Add(Seconds(r.TrainingSeconds));
            row.Add(r.Settings);
            rows.Add(row.ToArray());
        }

        int columns = header.Count;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(row => row[c].Length)).ToArray();
        var text = new StringBuilder();
        for (int i = 0; i < rows.Count; i++)
        {
            text.Append("  ");
            for (int c = 0; c < columns; c++)
            {
                bool leftAligned = c == 0 || c == columns - 1;
                string cell = leftAligned ? rows[i][c].PadRight(widths[c]) : rows[i][c].PadLeft(widths[c]);
                text.Append(cell).Append(c == columns - 1 ? "" : "  ");
            }

            text.Append('\n');
            if (i == 0)
            {
                text.Append("  ").Append(new string('-', widths.Sum() + (2 * (columns - 1)))).Append('\n');
            }
        }

        text.Append(string.Create(CultureInfo.InvariantCulture,
            $"  train {task.LossName}: first {results.TrainEvaluationCount} training images; test: {results.TestCount} test images; backend: {environment.Torch}, Curvature {environment.BackendName}; threads: {environment.Threads}\n"));
        return text.ToString();
    }

    /// <summary>A loss with four significant digits (or '-' when not measured).</summary>
    public static string Format(double value) =>
        value switch
        {
            double.NaN => "-",
            >= 1000 or <= -1000 or double.PositiveInfinity or double.NegativeInfinity => value.ToString("g3", CultureInfo.InvariantCulture),
            >= 0.1 => value.ToString("0.0000", CultureInfo.InvariantCulture),
            _ => value.ToString("0.00000", CultureInfo.InvariantCulture),
        };

    private static string Seconds(double seconds) => seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";
}
