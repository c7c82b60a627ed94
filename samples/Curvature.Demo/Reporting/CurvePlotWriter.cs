using Curvature.Demo.Training;
using ScottPlot;

namespace Curvature.Demo.Reporting;

/// <summary>
/// Draws every optimizer's training loss (evaluated on the fixed training subset) against steps (left) and training
/// wall time (right), one row per task, log-scaled losses, with the task's target as a dotted line, into one PNG
/// (ScottPlot 5).
/// </summary>
public static class CurvePlotWriter
{
    /// <summary>Writes the figure to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyList<TaskResults> tasks, RunEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(environment);
        var multiplot = new Multiplot();
        var plots = new List<Plot>();
        foreach (var results in tasks)
        {
            var task = results.Task;
            string loss = $"training {task.LossName}";
            plots.Add(CreatePlot($"{task.Title}: training loss vs step", "step", loss, results.Plan.TargetLoss, results.Runs, p => p.Step));
            plots.Add(CreatePlot($"{task.Title}: training loss vs training time ({environment.Threads} thread{(environment.Threads == 1 ? "" : "s")})", "training wall time [s]", loss, results.Plan.TargetLoss, results.Runs, p => p.Seconds));
        }

        multiplot.Reset(plots[0]); // a new Multiplot starts with one empty plot of its own
        foreach (var plot in plots.Skip(1))
        {
            multiplot.AddPlot(plot);
        }

        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows: tasks.Count, columns: 2);
        multiplot.SavePng(path, 1400, 520 * tasks.Count);
    }

    private static Plot CreatePlot(string title, string xLabel, string yLabel, double targetLoss, IReadOnlyList<RunResult> results, Func<CurvePoint, double> x)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double minY = double.PositiveInfinity, maxY = double.NegativeInfinity;
        for (int i = 0; i < results.Count; i++)
        {
            var evaluations = results[i].Evaluations.Where(p => double.IsFinite(p.TrainLoss) && p.TrainLoss > 0).ToArray();
            if (evaluations.Length == 0)
            {
                continue;
            }

            var color = palette.GetColor(i);
            double[] xs = evaluations.Select(x).ToArray();
            double[] train = evaluations.Select(p => Math.Log10(p.TrainLoss)).ToArray();
            var trainLine = plot.Add.ScatterLine(xs, train, color);
            trainLine.LineWidth = 2;
            trainLine.LegendText = results[i].OptimizerName;
            minY = Math.Min(minY, train.Min());
            maxY = Math.Max(maxY, train.Max());
        }

        if (double.IsFinite(targetLoss) && targetLoss > 0)
        {
            var target = plot.Add.HorizontalLine(Math.Log10(targetLoss), 1, Colors.Gray, LinePattern.Dotted);
            target.LegendText = "target";
            minY = Math.Min(minY, Math.Log10(targetLoss));
        }

        plot.Title(title, size: 15);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel + " (log scale)");
        if (double.IsFinite(minY) && double.IsFinite(maxY))
        {
            double pad = Math.Max(0.05, 0.05 * (maxY - minY));
            plot.Axes.SetLimitsY(minY - pad, maxY + pad);
            plot.Axes.Left.TickGenerator = LogTicks(minY - pad, maxY + pad);
        }

        plot.Axes.SetLimitsX(0, Math.Max(1e-9, results.SelectMany(r => r.Evaluations).Select(x).DefaultIfEmpty(1).Max()));

        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.12);
        plot.Grid.MinorLineColor = Colors.Black.WithAlpha(0.05);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Major ticks at 1, 2, 5 × 10^k (plus 3 when the range is narrow) on a log10 axis, labelled in loss units.</summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(double minLog, double maxLog)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        double[] mantissas = maxLog - minLog < 1.2 ? [1, 1.5, 2, 3, 4, 5, 7] : [1, 2, 5];
        for (int k = (int)Math.Floor(minLog); k <= (int)Math.Ceiling(maxLog); k++)
        {
            foreach (double m in mantissas)
            {
                double value = m * Math.Pow(10, k);
                double position = Math.Log10(value);
                if (position >= minLog && position <= maxLog)
                {
                    ticks.AddMajor(position, value.ToString("g3", System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            for (int minor = 2; minor <= 9; minor++)
            {
                double position = Math.Log10(minor * Math.Pow(10, k));
                if (position >= minLog && position <= maxLog)
                {
                    ticks.AddMinor(position);
                }
            }
        }

        return ticks;
    }
}
