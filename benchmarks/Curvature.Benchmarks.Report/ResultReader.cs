using System.Globalization;
using System.Text.Json;

namespace Curvature.Benchmarks.Report;

/// <summary>Reads BenchmarkDotNet full-JSON reports and the CSV files of the C baseline and the PyTorch script.</summary>
internal static class ResultReader
{
    /// <summary>Host description from the first BenchmarkDotNet report (CPU, OS, runtime), or null.</summary>
    public static string? Host { get; private set; }

    /// <summary>All benchmarks of every <c>*-report-full.json</c> under <paramref name="folder"/>.</summary>
    public static IEnumerable<Measurement> ReadBenchmarkDotNet(string folder)
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (string file in Directory.EnumerateFiles(folder, "*-report-full.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var root = doc.RootElement;
            if (Host is null && root.TryGetProperty("HostEnvironmentInfo", out var host))
            {
                Host = $"{Str(host, "ProcessorName")}, {Str(host, "OsVersion")}, {Str(host, "RuntimeVersion")}, BenchmarkDotNet {Str(host, "BenchmarkDotNetVersion")}";
            }

            foreach (var b in root.GetProperty("Benchmarks").EnumerateArray())
            {
                if (!b.TryGetProperty("Statistics", out var stats) || stats.ValueKind != JsonValueKind.Object)
                {
                    continue; // a failed case has no statistics
                }

                string type = b.GetProperty("Type").GetString() ?? "";
                string? kernel = KernelOf(b.GetProperty("Method").GetString() ?? "");
                if (kernel is null)
                {
                    continue;
                }

                var parameters = ParseParameters(b.GetProperty("Parameters").GetString() ?? "");
                string dtype = type.Contains("<Single>", StringComparison.Ordinal) ? "float" : "double";
                string implementation = type.StartsWith("MathNet", StringComparison.Ordinal)
                    ? Implementations.MathNet
                    : "curvature-" + parameters.GetValueOrDefault("Backend", "managed").Trim('"');
                int n = int.Parse(parameters["N"], CultureInfo.InvariantCulture);
                int threads = parameters.TryGetValue("Threads", out string? t) ? int.Parse(t, CultureInfo.InvariantCulture) : 1;
                long? allocated = b.TryGetProperty("Memory", out var mem) && mem.TryGetProperty("BytesAllocatedPerOperation", out var bytes)
                    ? bytes.GetInt64()
                    : null;
                yield return new Measurement(implementation, kernel, dtype, n, threads, stats.GetProperty("Median").GetDouble(), allocated);
            }
        }
    }

    /// <summary>Rows <c>library,kernel,dtype,n,threads,median_ns,...</c> of the C baseline (library openblas|mkl) or PyTorch (torch).</summary>
    public static IEnumerable<Measurement> ReadCsv(string file)
    {
        if (!File.Exists(file))
        {
            yield break;
        }

        foreach (string line in File.ReadLines(file).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length < 6)
            {
                continue;
            }

            string implementation = f[0] switch
            {
                "openblas" => Implementations.COpenBlas,
                "mkl" => Implementations.CMkl,
                "torch" => Implementations.Torch,
                var other => other,
            };
            yield return new Measurement(implementation, f[1], f[2], int.Parse(f[3], CultureInfo.InvariantCulture),
                int.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture), null);
        }
    }

    private static string? KernelOf(string method) => method switch
    {
        "Gemm" => "gemm",
        "Syrk" => "syrk",
        "CholeskyInverse" => "cholinv",
        "SymmetricEigen" => "syevd",
        "KfacStep" => "kfacstep",
        _ => null,
    };

    private static Dictionary<string, string> ParseParameters(string text) =>
        text.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1]);

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ToString() : "?";
}
