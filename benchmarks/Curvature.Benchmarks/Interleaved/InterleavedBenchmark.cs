using System.Diagnostics;
using System.Globalization;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Native;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>
/// The interleaved A/B mode: in one process, on the same 64-byte-aligned buffers, Curvature's public call (A) and the
/// bare routine from the same native library handle (B) run alternately (AB, BA, AB, …), one call each per pair, for at
/// least 21 pairs; the result is the median of the per-pair ratios A/B, which is immune to the slow drifts of a
/// shared VM that make cross-process ratios meaningless. Each call is timed by the calling thread's CPU clock (the
/// primary ratio: one thread does all the work, and time spent descheduled by other processes is left out) and by the
/// wall clock (reported alongside). Before timing, A's and B's outputs are compared (bit for bit
/// for the native backends). The managed backend is compared with bare OpenBLAS.
/// </summary>
/// <remarks>
/// <para>Each provider runs in its own child process (OpenBLAS alone; MKL alone; managed with OpenBLAS as its
/// baseline), so that no provider's symbols can stand in for another's, with one thread
/// (<c>OPENBLAS_NUM_THREADS=1</c>, <c>MKL_NUM_THREADS=1</c>, Curvature's thread count 1; MKL runs its sequential
/// layer on both sides because both sides call the same handle).</para>
/// <code>
/// Curvature.Benchmarks --interleaved [--sizes 256,512,1024] [--backends openblas,mkl,managed]
///     [--kernels gemm,syrk,cholinv,syevd,kfacstep] [--types double,float] [--pairs 21] [--seconds 1.5]
///     [--interleaved-out artifacts/bench/interleaved.csv]
/// </code>
/// </remarks>
internal static class InterleavedBenchmark
{
    private const string Header = "kernel,type,n,implementation,baseline,pairs,ratio_median,ratio_p25,ratio_p75,a_ms,b_ms,wall_ratio_median,wall_ratio_p25,wall_ratio_p75,check";

    /// <summary>Runs the mode (the parent: one child per backend), writes the CSV, prints a summary; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter log)
    {
        var options = InterleavedOptions.Parse(args);
        if (options.Child is not null)
        {
            return RunChild(options, log);
        }

        string csv = options.OutputCsv;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(csv))!);
        var rows = new List<string>();
        int failures = 0;
        foreach (string backend in options.Backends)
        {
            string part = Path.Combine(Path.GetTempPath(), $"curvature-interleaved-{Environment.ProcessId}-{backend}.csv");
            int exit = RunChildProcess(backend, options, part, log);
            if (File.Exists(part))
            {
                rows.AddRange(File.ReadAllLines(part).Skip(1));
                File.Delete(part);
            }

            if (exit != 0)
            {
                log.WriteLine($"interleaved: the {backend} child process failed with exit code {exit}");
                failures++;
            }
        }

        File.WriteAllLines(csv, [Header, .. rows]);
        log.WriteLine($"interleaved: {rows.Count} cases -> {csv} (machine load at the end: {LoadAverage()})");
        return failures == 0 && rows.Count > 0 ? 0 : 1;
    }

    /// <summary>The 1/5/15-minute load averages (Linux), or "unknown".</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]}, {parts[1]}, {parts[2]}";
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    private static int RunChildProcess(string backend, InterleavedOptions options, string csv, TextWriter log)
    {
        string self = typeof(InterleavedBenchmark).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            psi.ArgumentList.Add(self);
        }

        foreach (string a in options.ChildArguments(backend, csv))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
        psi.Environment["MKL_NUM_THREADS"] = "1";
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("Could not start the child process.");
        child.WaitForExit();
        return child.ExitCode;
    }

    private static int RunChild(InterleavedOptions options, TextWriter log)
    {
        string name = options.Child!;
        CurvatureBackend backend;
        NativeBackend bare;
        try
        {
            backend = BenchmarkBackends.Create(name, threads: 1);
            bare = name == "managed" ? (NativeBackend)BenchmarkBackends.Create("openblas", threads: 1) : (NativeBackend)backend;
        }
        catch (BackendUnavailableException e)
        {
            log.WriteLine($"interleaved: backend {name} unavailable: {e.Message}");
            File.WriteAllLines(options.OutputCsv, [Header]);
            return 3;
        }

        log.WriteLine($"interleaved: {backend.Describe()}");
        if (!ReferenceEquals(bare, backend))
        {
            log.WriteLine($"interleaved: baseline {bare.Describe()}");
        }

        var rows = new List<string> { Header };
        foreach (string kernel in options.Kernels)
        {
            foreach (int n in options.Sizes)
            {
                foreach (string type in options.Types)
                {
                    var c = Create(kernel, type, backend, bare, n);
                    var r = Measure(c, options);
                    string row = string.Join(',', c.Kernel, c.Type, c.N.ToString(CultureInfo.InvariantCulture), c.Implementation, c.Baseline,
                        r.Pairs.ToString(CultureInfo.InvariantCulture), F(r.Median), F(r.P25), F(r.P75), F(r.AMilliseconds), F(r.BMilliseconds),
                        F(r.WallMedian), F(r.WallP25), F(r.WallP75), r.Check);
                    rows.Add(row);
                    log.WriteLine($"interleaved: {c.Implementation,-8} {c.Kernel,-8} {c.Type,-6} n={c.N,-5} A/B median {r.Median:0.000} (p25 {r.P25:0.000}, p75 {r.P75:0.000}) " +
                        $"A {r.AMilliseconds:0.###} ms, B {r.BMilliseconds:0.###} ms (CPU); wall A/B {r.WallMedian:0.000} (p25 {r.WallP25:0.000}, p75 {r.WallP75:0.000}); {r.Pairs} pairs; {r.Check}");
                }
            }
        }

        File.WriteAllLines(options.OutputCsv, rows);
        return 0;
    }

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static InterleavedCase Create(string kernel, string type, CurvatureBackend backend, NativeBackend bare, int n)
    {
        string baseline = bare.Name;
        var lib = bare.Exports;
        bool d = type == "double";
        return kernel switch
        {
            "gemm" => d ? new GemmCase<double>(backend, lib, baseline, n) : new GemmCase<float>(backend, lib, baseline, n),
            "syrk" => d ? new SyrkCase<double>(backend, lib, baseline, n) : new SyrkCase<float>(backend, lib, baseline, n),
            "cholinv" => d ? new CholeskyInverseCase<double>(backend, lib, baseline, n) : new CholeskyInverseCase<float>(backend, lib, baseline, n),
            "syevd" => d ? new SymmetricEigenCase<double>(backend, lib, baseline, n) : new SymmetricEigenCase<float>(backend, lib, baseline, n),
            "kfacstep" => d ? new KfacStepCase<double>(backend, lib, baseline, n) : new KfacStepCase<float>(backend, lib, baseline, n),
            _ => throw new ArgumentException($"Unknown kernel '{kernel}'."),
        };
    }

    /// <summary>Output check, warm-up, then the interleaved pairs.</summary>
    private static PairStatistics Measure(InterleavedCase c, InterleavedOptions options)
    {
        c.Prepare();
        c.RunA();
        c.SaveA();
        c.Prepare();
        c.RunB();
        string check = c.Compare();

        // Warm-up (JIT tiers, caches, page faults): at least two of each, up to 30 or the warm-up time.
        long warmStart = Stopwatch.GetTimestamp();
        double perPair = 0;
        for (int i = 0; i < 30; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            c.Prepare();
            c.RunA();
            c.Prepare();
            c.RunB();
            perPair = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (i >= 1 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds > options.WarmupSeconds)
            {
                break;
            }
        }

        int pairs = (int)Math.Clamp(Math.Ceiling(options.Seconds / Math.Max(perPair, 1e-6)), options.MinPairs, options.MaxPairs);
        var ratios = new double[pairs];
        var wallRatios = new double[pairs];
        var a = new double[pairs];
        var b = new double[pairs];
        for (int p = 0; p < pairs; p++)
        {
            double aw, bw;
            if (p % 2 == 0)
            {
                (a[p], aw) = Time(c, sideA: true);
                (b[p], bw) = Time(c, sideA: false);
            }
            else
            {
                (b[p], bw) = Time(c, sideA: false);
                (a[p], aw) = Time(c, sideA: true);
            }

            ratios[p] = a[p] / b[p];
            wallRatios[p] = aw / bw;
        }

        // The check again after timing (catches results that change from call to call).
        c.Prepare();
        c.RunA();
        c.SaveA();
        c.Prepare();
        c.RunB();
        string after = c.Compare();
        if (after != check)
        {
            check = $"{check} (after timing: {after})";
        }

        Array.Sort(ratios);
        Array.Sort(wallRatios);
        Array.Sort(a);
        Array.Sort(b);
        return new PairStatistics(pairs, Quantile(ratios, 0.5), Quantile(ratios, 0.25), Quantile(ratios, 0.75), Quantile(a, 0.5) * 1e3, Quantile(b, 0.5) * 1e3,
            Quantile(wallRatios, 0.5), Quantile(wallRatios, 0.25), Quantile(wallRatios, 0.75), check);
    }

    /// <summary>One call of side A or B after its (untimed) preparation: (thread CPU seconds, wall seconds). Without a
    /// thread CPU clock both are wall seconds.</summary>
    private static (double Cpu, double Wall) Time(InterleavedCase c, bool sideA)
    {
        c.Prepare();
        double cpu0 = ThreadCpuClock.Seconds();
        long t0 = Stopwatch.GetTimestamp();
        if (sideA)
        {
            c.RunA();
        }
        else
        {
            c.RunB();
        }

        double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double cpu = ThreadCpuClock.IsAvailable ? ThreadCpuClock.Seconds() - cpu0 : wall;
        return (cpu, wall);
    }

    /// <summary>Linear-interpolation quantile of sorted values.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }

    private sealed record PairStatistics(int Pairs, double Median, double P25, double P75, double AMilliseconds, double BMilliseconds, double WallMedian, double WallP25, double WallP75, string Check);
}
