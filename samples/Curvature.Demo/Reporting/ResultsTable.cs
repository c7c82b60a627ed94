using System.Globalization;
using System.Text;
using Curvature.Demo.NeuralNet;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>Formats one task's results as an aligned text table.</summary>
public static class ResultsTable
{
    /// <summary>Renders the table for <paramref name="task"/> (one row per optimizer).</summary>
    public static string Render(DemoTask task, IReadOnlyList<RunResult> results)
    {
        bool classifier = task.Loss == LossKind.CrossEntropy;
        string lossName = classifier ? "CE" : "MSE";
        string target = Format(task.TargetLoss);
        var header = new List<string> { "optimizer", $"train {lossName}", $"test {lossName}" };
        if (classifier)
        {
            header.Add("test acc");
        }

        header.AddRange([$"steps to {target}", $"time to {target}", "ms/step", "total", "settings"]);
        var rows = new List<string[]> { header.ToArray() };
        foreach (var r in results)
        {
            var final = r.Final;
            var row = new List<string> { r.OptimizerName, Format(final.TrainLoss), Format(final.TestLoss) };
            if (classifier)
            {
                row.Add(double.IsNaN(final.TestAccuracy) ? "-" : final.TestAccuracy.ToString("P1", CultureInfo.InvariantCulture));
            }

            row.Add(r.StepsToTarget?.ToString(CultureInfo.InvariantCulture) ?? (r.Diverged ? "diverged" : "not reached"));
            row.Add(r.SecondsToTarget is double s ? Seconds(s) : "-");
            row.Add(r.MillisecondsPerStep.ToString("0.00", CultureInfo.InvariantCulture));
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

            text.AppendLine();
            if (i == 0)
            {
                text.Append("  ").AppendLine(new string('-', widths.Sum() + (2 * (columns - 1))));
            }
        }

        return text.ToString();
    }

    private static string Format(double value) =>
        value switch
        {
            double.NaN => "-",
            >= 1000 or <= -1000 or double.PositiveInfinity or double.NegativeInfinity => value.ToString("g3", CultureInfo.InvariantCulture),
            >= 0.1 => value.ToString("0.000", CultureInfo.InvariantCulture),
            _ => value.ToString("0.00000", CultureInfo.InvariantCulture),
        };

    private static string Seconds(double seconds) => seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";
}
