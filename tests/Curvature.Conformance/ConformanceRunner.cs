using System.Globalization;
using Curvature.Backends;

namespace Curvature.Conformance;

/// <summary>Runs the selected parts over every case JSON of a folder and reports one line per case.</summary>
public static class ConformanceRunner
{
    /// <summary>All parts, in report order.</summary>
    public static IReadOnlyList<IConformancePart> AllParts { get; } = [new KfacPart(), new EkfacPart(), new AdaFisherPart()];

    /// <summary>Runs the parts named in <paramref name="only"/> (all when null) over <paramref name="folder"/>.</summary>
    /// <param name="folder">The folder of case files.</param>
    /// <param name="backend">The backend.</param>
    /// <param name="only">One part's name, or null for all.</param>
    /// <param name="output">Receives one line per case and the closing count.</param>
    /// <param name="source">
    /// Where the K-FAC and EKFAC parts take the layer data from (the case files when null). With any other source the
    /// <c>adafisher</c> part, which replays the stored data, is left out and its cases are reported as skipped.
    /// </param>
    /// <returns>(passed, failed) case counts.</returns>
    public static (int Passed, int Failed) Run(string folder, CurvatureBackend backend, string? only, TextWriter output, ILayerDataSource? source = null)
    {
        bool stored = source is null or StoredLayerData;
        IReadOnlyList<IConformancePart> all = stored ? AllParts : [new KfacPart(source), new EkfacPart(source)];
        var parts = only is null ? all : all.Where(p => p.Name == only).ToList();
        if (parts.Count == 0)
        {
            throw new ArgumentException($"Unknown part '{only}'; expected one of: {string.Join(", ", all.Select(p => p.Name))}.", nameof(only));
        }

        int passed = 0, failed = 0, skipped = 0;
        foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            ReferenceCase c;
            try
            {
                c = ReferenceCase.Load(file);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or IOException or InvalidOperationException)
            {
                output.WriteLine($"{Path.GetFileNameWithoutExtension(file)} FAIL worst_rel=nan unreadable: {e.Message}");
                failed++;
                continue;
            }

            var applicable = parts.Where(p => p.AppliesTo(c)).ToList();
            if (applicable.Count == 0)
            {
                if (!stored && only is null && AllParts.Any(p => p.AppliesTo(c)))
                {
                    output.WriteLine($"{c.Name} SKIP ({c.Kind} cases replay the stored data only; not run --via {source!.Name})");
                    skipped++;
                }

                continue; // the case belongs to a part that was not selected
            }

            bool ok = true;
            double worst = 0;
            var details = new List<string>();
            foreach (var part in applicable)
            {
                PartResult r;
                try
                {
                    r = part.Run(c, backend);
                }
                catch (Exception e)
                {
                    r = new PartResult(false, double.NaN, $"{part.Name}: {e.GetType().Name}: {e.Message}");
                }

                ok &= r.Passed;
                worst = double.IsNaN(r.WorstRelativeError) || double.IsNaN(worst) ? double.NaN : Math.Max(worst, r.WorstRelativeError);
                details.Add($"{part.Name}={(r.Passed ? "ok" : "FAIL")}{(string.IsNullOrEmpty(r.Detail) ? "" : $" ({r.Detail})")}");
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Name} {(ok ? "PASS" : "FAIL")} worst_rel={worst:0.###e+00} {string.Join("; ", details)}"));
            if (ok)
            {
                passed++;
            }
            else
            {
                failed++;
            }
        }

        output.WriteLine(skipped == 0 ? $"{passed} passed, {failed} failed" : $"{passed} passed, {failed} failed, {skipped} skipped");
        return (passed, failed);
    }
}
