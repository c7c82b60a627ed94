using System.Diagnostics;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>Plain and bridged steps, interleaved pair by pair on twin models and the same batch.</summary>
public static class PairedMeasurement
{
    /// <summary>
    /// Medians of thread CPU time and wall time per step: plain, bridged (with the optimizer's calls), the optimizer's calls,
    /// and the medians of the per-pair ratios (bridged − optimizer calls) / plain; bytes allocated per step.
    /// </summary>
    public sealed record Result(
        double PlainCpuMs, double BridgeCpuMs, double OptimizerCpuMs, double MedianCpuRatio,
        double PlainWallMs, double BridgeWallMs, double OptimizerWallMs, double MedianWallRatio,
        long PlainBytes, long BridgeBytes, double PlainFaults, double BridgeFaults);

    public static Result Run(Workload workload, BridgeVariant variant, int pairs, int warmup)
    {
        var model = workload.CreateTwin();
        using var optimizer = variant.Attach(model);
        long callCpu = 0, callWall = 0, startCpu = 0, startWall = 0;
        optimizer.OptimizerCall = entering =>
        {
            if (entering)
            {
                startCpu = ThreadCpuClock.IsAvailable ? ThreadCpuClock.Nanoseconds() : 0;
                startWall = Stopwatch.GetTimestamp();
            }
            else
            {
                callWall += Stopwatch.GetTimestamp() - startWall;
                callCpu += ThreadCpuClock.IsAvailable ? ThreadCpuClock.Nanoseconds() - startCpu : 0;
            }
        };

        void Plain()
        {
            using var scope = NewDisposeScope();
            workload.Model.zero_grad();
            var loss = nn.functional.cross_entropy(workload.Model.call(workload.Input), workload.Targets);
            loss.backward();
        }

        void Bridged() => variant.Step(workload, model, optimizer);

        for (int i = 0; i < warmup; i++)
        {
            Plain();
            Bridged();
        }

        long plainBytes = Bytes(Plain), bridgeBytes = Bytes(Bridged);
        long plainFaults = 0, bridgeFaults = 0;
        var plain = new double[pairs];
        var bridged = new double[pairs];
        var calls = new double[pairs];
        var ratios = new double[pairs];
        var plainCpu = new double[pairs];
        var bridgedCpu = new double[pairs];
        var callsCpu = new double[pairs];
        var cpuRatios = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            callCpu = 0;
            callWall = 0;
            if (i % 2 == 0)
            {
                (plain[i], plainCpu[i]) = Time(Plain, ref plainFaults);
                (bridged[i], bridgedCpu[i]) = Time(Bridged, ref bridgeFaults);
            }
            else
            {
                (bridged[i], bridgedCpu[i]) = Time(Bridged, ref bridgeFaults);
                (plain[i], plainCpu[i]) = Time(Plain, ref plainFaults);
            }

            calls[i] = Stopwatch.GetElapsedTime(0, callWall).TotalMilliseconds;
            callsCpu[i] = ThreadCpuClock.IsAvailable ? callCpu / 1e6 : double.NaN;
            ratios[i] = (bridged[i] - calls[i]) / plain[i];
            cpuRatios[i] = (bridgedCpu[i] - callsCpu[i]) / plainCpu[i];
        }

        optimizer.OptimizerCall = null;
        model.Dispose();
        return new Result(Median(plainCpu), Median(bridgedCpu), Median(callsCpu), Median(cpuRatios),
            Median(plain), Median(bridged), Median(calls), Median(ratios), plainBytes, bridgeBytes,
            PageFaults.IsAvailable ? (double)plainFaults / pairs : double.NaN, PageFaults.IsAvailable ? (double)bridgeFaults / pairs : double.NaN);
    }

    /// <summary>Wall and thread CPU milliseconds of one step (CPU time NaN where the clock is unavailable); adds the step's
    /// minor page faults to <paramref name="faults"/>.</summary>
    private static (double Wall, double Cpu) Time(Action step, ref long faults)
    {
        long before = PageFaults.IsAvailable ? PageFaults.Minor() : 0;
        long cpu = ThreadCpuClock.IsAvailable ? ThreadCpuClock.Nanoseconds() : 0;
        long start = Stopwatch.GetTimestamp();
        step();
        double wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        double cpuMs = ThreadCpuClock.IsAvailable ? (ThreadCpuClock.Nanoseconds() - cpu) / 1e6 : double.NaN;
        faults += PageFaults.IsAvailable ? PageFaults.Minor() - before : 0;
        return (wall, cpuMs);
    }

    private static long Bytes(Action step)
    {
        const int steps = 20;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
        {
            step();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[(n / 2) - 1] + sorted[n / 2]);
    }
}
