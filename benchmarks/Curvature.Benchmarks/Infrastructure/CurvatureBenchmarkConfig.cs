using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using Perfolizer.Horology;

namespace Curvature.Benchmarks.Infrastructure;

/// <summary>
/// The shared BenchmarkDotNet configuration: one fixed, short job sized for a 2-core machine, memory diagnoser,
/// GitHub-markdown + full JSON + CSV exporters, median/min/max columns.
/// </summary>
/// <remarks>
/// The full job is 1 launch, 1 warm-up and 5 measured iterations of at least 100 ms each (dotnet/performance's
/// recommended config, shortened): every case costs about 8 × max(100 ms, one operation) plus a process start,
/// which keeps the whole suite at roughly 25 minutes on 2 cores (see benchmarks/README.md). The quick job
/// (smoke test) uses 3 iterations of 25 ms.
/// </remarks>
internal static class CurvatureBenchmarkConfig
{
    /// <summary>Creates the configuration for a full or a quick run.</summary>
    public static IConfig Create(bool quick)
    {
        var job = quick
            ? Job.Default.WithId("Quick").WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3)
                .WithIterationTime(TimeInterval.FromMilliseconds(25))
            : Job.Default.WithId("Fixed").WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
                .WithIterationTime(TimeInterval.FromMilliseconds(100));
        job = job.WithGcServer(false).WithGcConcurrent(false);

        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full, CsvExporter.Default)
            .AddLogger(DefaultConfig.Instance.GetLoggers().ToArray())
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .WithSummaryStyle(SummaryStyle.Default.WithTimeUnit(TimeUnit.Millisecond))
            .WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared))
            .WithOptions(ConfigOptions.Default)
            // The generated project is built while other work shares the 2 cores: the default 2-minute limit is too tight.
            .WithBuildTimeout(TimeSpan.FromMinutes(15));
    }
}
