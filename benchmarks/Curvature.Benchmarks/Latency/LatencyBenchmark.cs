using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Optimizers;

namespace Curvature.Benchmarks.Latency;

/// <summary>
/// The <c>--latency</c> mode: the <see cref="ServiceLoop"/> for every available backend, n = 512 and 256 (quick: 256),
/// synchronous and background inverse refresh; prints the table and writes it as Markdown (issue #7).
/// </summary>
internal static class LatencyBenchmark
{
    /// <summary>Acceptance bound of issue #7 for the background mode: p99 ≤ 1.3 × median.</summary>
    public const double TailBound = 1.3;

    /// <summary>Runs the measurements and writes <paramref name="outputPath"/>; returns the process exit code.</summary>
    public static int Run(TextWriter console, string outputPath, int? stepsOverride, string? note)
    {
        bool quick = BenchmarkSettings.Quick;
        int[] sizes = quick ? [256] : [512, 256];
        int steps = stepsOverride ?? (quick ? 100 : 600);
        int warmup = 5 * ServiceLoop.RefreshPeriod;
        string loadBefore = LoadAverage();
        var results = new List<LatencyResult>();
        foreach (string name in BenchmarkBackends.Available)
        {
            CurvatureBackend backend = BenchmarkBackends.Create(name, threads: 1);
            foreach (int n in sizes)
            {
                // Control: the same loop with no refresh after the warm-up, i.e. the machine's own step-time jitter.
                var control = ServiceLoop.Run(backend, name, n, RefreshMode.Synchronous, warmup, steps, refreshPeriod: int.MaxValue);
                results.Add(control);
                console.WriteLine(Row(control));
                foreach (var refresh in new[] { RefreshMode.Synchronous, RefreshMode.Background })
                {
                    var r = ServiceLoop.Run(backend, name, n, refresh, warmup, steps, ServiceLoop.RefreshPeriod);
                    results.Add(r);
                    console.WriteLine(Row(r));
                }
            }
        }

        string markdown = Report(results, steps, warmup, loadBefore, LoadAverage(), note);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(outputPath, markdown);
        console.WriteLine($"// Latency table written to {Path.GetFullPath(outputPath)}");
        return 0;
    }

    private static string Row(LatencyResult r) => string.Create(CultureInfo.InvariantCulture,
        $"| {r.Backend} | {r.N} | {(r.RefreshPeriod == int.MaxValue ? "none (control)" : r.Refresh.ToString())} | {r.Steps} | {r.Median:F2} | {r.P90:F2} | {r.P99:F2} | {r.Max:F2} | {r.TailRatio:F2} | {(r.Refresh == RefreshMode.Background && r.RefreshPeriod != int.MaxValue ? (r.TailRatio <= TailBound ? "yes" : "no") : "–")} | {r.AllocatedBytesPerStep:F1} | {r.MaxSwapDelay} |");

    private static string Report(List<LatencyResult> results, int steps, int warmup, string loadBefore, string loadAfter, string? note)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# K-FAC service-loop latency (issue #7)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Written by `dotnet run -c Release --project benchmarks/Curvature.Benchmarks -- --latency{(BenchmarkSettings.Quick ? " --quick" : "")}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Loop: `KfacOptimizer<double>` on one dense layer, in = out = n, no bias, float64, batch {ServiceLoop.Batch}; every step one observation (two `?SYRK`) and one `Step` (the preconditioned gradient with the cached inverse, two `?GEMM`, and the parameter update); inverses (`?POTRF` + `?POTRI`, trace-scaled damping 1e-3, fixed) every T = {ServiceLoop.RefreshPeriod} steps. {warmup} warm-up steps (the first inverse included), then {steps} measured steps timed one by one with `Stopwatch`. One BLAS thread per call.");
        sb.AppendLine();
        sb.AppendLine("- **none (control)**: the same loop with no inverse refresh after the warm-up (the inverse computed once): the step-time jitter of the machine itself, the floor for every p99/median below.");
        sb.AppendLine("- **Synchronous**: the step that finds the inverses due recomputes them itself.");
        sb.AppendLine("- **Background** (`Refresh = RefreshMode.Background`): the due refresh runs on the optimizer's worker thread from a snapshot of the factors; steps use the latest complete inverse (max swap delay = the most steps between the step that started a refresh and the step that swapped it in).");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- Acceptance (background): p99 ≤ {TailBound.ToString(CultureInfo.InvariantCulture)} × median. Allocated = bytes allocated by the caller's thread per measured step (`GC.GetAllocatedBytesForCurrentThread`).");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; load average before: {loadBefore}, after: {loadAfter}.");
        if (!string.IsNullOrWhiteSpace(note))
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"**Note:** {note}");
        }

        sb.AppendLine();
        sb.AppendLine("| Backend | n | Refresh | Steps | Median ms | p90 ms | p99 ms | Max ms | p99/median | ≤ 1.3 | Allocated B/step | Max swap delay |");
        sb.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|");
        foreach (var r in results)
        {
            sb.AppendLine(Row(r));
        }

        return sb.ToString();
    }

    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
