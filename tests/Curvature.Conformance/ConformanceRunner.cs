using System.Globalization;
using Curvature.Backends;

namespace Curvature.Conformance;

/// <summary>Runs the selected parts over every case JSON of a folder and reports one line per case.</summary>
public static class ConformanceRunner
{
    /// <summary>All parts, in report order.</summary>
    public static IReadOnlyList<IConformancePart> AllParts { get; } = [new KfacPart(), new EkfacPart(), new AdaFisherPart()];

    /// <summary>Runs the parts named in <paramref name="only"/> (all when null) over <paramref name="folder"/>.</summary>
    /// <returns>(passed, failed) case counts.</returns>
    public static (int Passed, int Failed) Run(string folder, CurvatureBackend backend, string? only, TextWriter output)
    {
        var parts = only is null ? AllParts : AllParts.Where(p => p.Name == only).ToList();
        if (parts.Count == 0)
        {
            throw new ArgumentException($"Unknown part '{only}'; expected one of: {string.Join(", ", AllParts.Select(p => p.Name))}.", nameof(only));
        }

        int passed = 0, failed = 0;
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

        output.WriteLine($"{passed} passed, {failed} failed");
        return (passed, failed);
    }
}
