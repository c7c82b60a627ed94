using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Curvature.Benchmarks.Report;

/// <summary>
/// The "Algorithms: median and allocated bytes" section of RESULTS.md: every benchmark of the
/// <c>Curvature.Benchmarks.Algorithms</c> namespace found in the BenchmarkDotNet full-JSON reports, one row per case
/// (failed cases included, marked as such), in the order of the reports.
/// </summary>
internal static class AlgorithmsSection
{
    private const string Namespace = "Curvature.Benchmarks.Algorithms";

    /// <summary>The markdown section, or an empty string when no algorithm benchmark was run.</summary>
    public static string Build(string folder)
    {
        var rows = Read(folder).ToList();
        if (rows.Count == 0)
        {
            return "";
        }

        var sb = new StringBuilder();
        sb.AppendLine("## Algorithms: median and allocated bytes");
        sb.AppendLine();
        sb.AppendLine("The algorithm benchmarks of benchmarks/Curvature.Benchmarks/Algorithms (see the README there for what each one");
        sb.AppendLine("measures); shorter job (1 warm-up, 3 iterations). `Alloc` = managed bytes allocated per operation.");
        sb.AppendLine();
        sb.AppendLine("| Benchmark | Type | Parameters | Median (ms) | Alloc (B) |");
        sb.AppendLine("|---|---|---|---:|---:|");
        foreach (var r in rows)
        {
            string median = r.MedianNs is double m ? MarkdownReport.FormatMs(m) : "failed";
            string alloc = r.AllocatedBytes is long a ? a.ToString("N0", CultureInfo.InvariantCulture) : "—";
            sb.AppendLine($"| {r.Benchmark} | {r.DType} | {r.Parameters} | {median} | {alloc} |");
        }

        sb.AppendLine();
        return sb.ToString();
    }

    private static IEnumerable<Row> Read(string folder)
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (string file in Directory.EnumerateFiles(folder, "*-report-full.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var b in doc.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                if (!b.TryGetProperty("Namespace", out var ns) || ns.GetString() != Namespace)
                {
                    continue;
                }

                string type = b.GetProperty("Type").GetString() ?? "";
                string dtype = type.Contains("<Single>", StringComparison.Ordinal) ? "float"
                    : type.Contains("<Double>", StringComparison.Ordinal) ? "double" : "";
                int generic = type.IndexOf('<', StringComparison.Ordinal);
                string name = (generic < 0 ? type : type[..generic]) + "." + (b.GetProperty("Method").GetString() ?? "");
                string parameters = (b.GetProperty("Parameters").GetString() ?? "").Replace("&", ", ", StringComparison.Ordinal);
                double? median = b.TryGetProperty("Statistics", out var stats) && stats.ValueKind == JsonValueKind.Object
                    ? stats.GetProperty("Median").GetDouble()
                    : null;
                long? allocated = median is not null && b.TryGetProperty("Memory", out var mem) && mem.TryGetProperty("BytesAllocatedPerOperation", out var bytes)
                    ? bytes.GetInt64()
                    : null;
                yield return new Row(name, dtype, parameters, median, allocated);
            }
        }
    }

    private sealed record Row(string Benchmark, string DType, string Parameters, double? MedianNs, long? AllocatedBytes);
}
