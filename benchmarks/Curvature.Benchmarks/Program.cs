using BenchmarkDotNet.Running;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Benchmarks.Latency;

namespace Curvature.Benchmarks;

/// <summary>
/// Entry point: Curvature's own options, then everything else to <see cref="BenchmarkSwitcher"/>
/// (<c>--filter</c>, <c>--artifacts</c>, <c>--exporters</c>, ...).
/// </summary>
/// <remarks>
/// <code>
/// dotnet run -c Release --project benchmarks/Curvature.Benchmarks -- [options] --filter '*' --artifacts artifacts/bench
///   --quick              short smoke-test job and n = 128 only
///   --sizes 128,256      matrix orders (default 128,256,512,1024)
///   --backends a,b       managed, openblas, mkl (default all; unavailable native ones are skipped)
///   --threads 1,2        thread counts of the threaded benchmarks (default 1,2)
///   --interleaved        A/B pairs in one process: Curvature's call against the bare routine of the same library
///                        handle, median of per-pair ratios (see Interleaved/InterleavedBenchmark.cs), then exit
///   --verify             check the K-FAC step against a dense float64 oracle on every backend, then exit
///   --latency            service-loop step-time percentiles (sync vs background inverse refresh), writes
///                        benchmarks/results/LATENCY.md (--latency-out PATH, --latency-steps N, --latency-note TEXT), then exit
/// </code>
/// </remarks>
public static class Program
{
    /// <summary>Runs the benchmarks (or the verification) and returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        if (args.Contains("--interleaved"))
        {
            return Interleaved.InterleavedBenchmark.Run(args, Console.Out);
        }

        var rest = new List<string>();
        bool verify = false;
        bool latency = false;
        string latencyOut = Path.Combine("benchmarks", "results", "LATENCY.md");
        int? latencySteps = null;
        string? latencyNote = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--quick":
                    BenchmarkSettings.Quick = true;
                    break;
                case "--verify":
                    verify = true;
                    break;
                case "--latency":
                    latency = true;
                    break;
                case "--latency-out" when i + 1 < args.Length:
                    latencyOut = args[++i];
                    break;
                case "--latency-steps" when i + 1 < args.Length:
                    latencySteps = ParseList(args[++i], arg)[0];
                    break;
                case "--latency-note" when i + 1 < args.Length:
                    latencyNote = args[++i];
                    break;
                case "--sizes" when i + 1 < args.Length:
                    BenchmarkSettings.SizesOverride = ParseList(args[++i], arg);
                    break;
                case "--threads" when i + 1 < args.Length:
                    BenchmarkSettings.Threads = ParseList(args[++i], arg);
                    break;
                case "--backends" when i + 1 < args.Length:
                    BenchmarkSettings.RequestedBackends = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                default:
                    rest.Add(arg);
                    break;
            }
        }

        if (verify)
        {
            return KfacStepVerifier.Run(Console.Out) ? 0 : 1;
        }

        if (latency)
        {
            return LatencyBenchmark.Run(Console.Out, latencyOut, latencySteps, latencyNote);
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
            .Run([.. rest], CurvatureBenchmarkConfig.Create(BenchmarkSettings.Quick));
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    private static int[] ParseList(string text, string option)
    {
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (!int.TryParse(values[i], out result[i]) || result[i] < 1)
            {
                throw new ArgumentException($"{option} expects a comma-separated list of positive integers, got '{text}'.");
            }
        }

        return result;
    }
}
