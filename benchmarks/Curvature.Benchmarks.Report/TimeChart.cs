using ScottPlot;
using ScottPlot.TickGenerators;

namespace Curvature.Benchmarks.Report;

/// <summary>The PNG chart: K-FAC step time vs n (double), log-log, one colour per implementation, dashed for 2 threads.</summary>
internal static class TimeChart
{
    /// <summary>Draws the chart for <paramref name="kernel"/> and saves it; returns false when there is nothing to draw.</summary>
    public static bool Save(ResultTable t, string kernel, string title, string path)
    {
        int[] sizes = t.Sizes(kernel);
        if (sizes.Length == 0)
        {
            return false;
        }

        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double minY = double.MaxValue, maxY = double.MinValue;
        for (int i = 0; i < Implementations.All.Length; i++)
        {
            var (key, label) = Implementations.All[i];
            foreach (int threads in new[] { 1, 2 })
            {
                var points = sizes
                    .Select(n => (n, ms: t.Median(key, kernel, "double", n, threads) / 1e6))
                    .Where(p => p.ms is > 0)
                    .ToArray();
                if (points.Length == 0)
                {
                    continue;
                }

                double[] xs = [.. points.Select(p => Math.Log10(p.n))];
                double[] ys = [.. points.Select(p => Math.Log10(p.ms!.Value))];
                minY = Math.Min(minY, ys.Min());
                maxY = Math.Max(maxY, ys.Max());
                var line = plot.Add.Scatter(xs, ys);
                line.Color = palette.GetColor(i);
                line.LineWidth = 2;
                line.MarkerSize = 7;
                line.LinePattern = threads == 1 ? LinePattern.Solid : LinePattern.Dashed;
                line.LegendText = $"{label}, {threads} thread{(threads == 1 ? "" : "s")}";
            }
        }

        var xTicks = new NumericManual();
        foreach (int n in sizes)
        {
            xTicks.AddMajor(Math.Log10(n), n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        plot.Axes.Bottom.TickGenerator = xTicks;
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("G4", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Axes.SetLimitsY(Math.Floor(minY), Math.Ceiling(maxY));
        plot.Axes.SetLimitsX(Math.Log10(sizes[0]) - 0.08, Math.Log10(sizes[^1]) + 0.08);
        plot.Title(title);
        plot.XLabel("n (matrix order)");
        plot.YLabel("median time per step (ms, log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1000, 700);
        return true;
    }
}
