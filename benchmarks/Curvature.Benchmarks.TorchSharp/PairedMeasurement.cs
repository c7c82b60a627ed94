using System.Diagnostics;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>Plain and bridged steps, interleaved pair by pair on the same model and batch.</summary>
public static class PairedMeasurement
{
    /// <summary>Medians of wall time and thread CPU time per step, medians of the per-pair ratios, bytes allocated per step.</summary>
    public sealed record Result(double PlainMedianMs, double BridgeMedianMs, double MedianRatio, double PlainCpuMs, double BridgeCpuMs, double MedianCpuRatio, long PlainBytes, long BridgeBytes);

    public static Result Run(Workload workload, BridgeVariant variant, int pairs, int warmup)
    {
        using var state = new BridgeState(workload);
        void Plain()
        {
            using var scope = NewDisposeScope();
            workload.Model.zero_grad();
            var loss = nn.functional.cross_entropy(workload.Model.call(workload.Input), workload.Targets);
            loss.backward();
        }

        void Bridged() => variant.Step(state);

        for (int i = 0; i < warmup; i++)
        {
            Plain();
            Bridged();
        }

        long plainBytes = Bytes(Plain), bridgeBytes = Bytes(Bridged);
        var plain = new double[pairs];
        var bridged = new double[pairs];
        var ratios = new double[pairs];
        var plainCpu = new double[pairs];
        var bridgedCpu = new double[pairs];
        var cpuRatios = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            if (i % 2 == 0)
            {
                (plain[i], plainCpu[i]) = Time(Plain);
                (bridged[i], bridgedCpu[i]) = Time(Bridged);
            }
            else
            {
                (bridged[i], bridgedCpu[i]) = Time(Bridged);
                (plain[i], plainCpu[i]) = Time(Plain);
            }

            ratios[i] = bridged[i] / plain[i];
            cpuRatios[i] = bridgedCpu[i] / plainCpu[i];
        }

        return new Result(Median(plain), Median(bridged), Median(ratios), Median(plainCpu), Median(bridgedCpu), Median(cpuRatios), plainBytes, bridgeBytes);
    }

    /// <summary>Wall and thread CPU milliseconds of one step (CPU time NaN where the clock is unavailable).</summary>
    private static (double Wall, double Cpu) Time(Action step)
    {
        long cpu = ThreadCpuClock.IsAvailable ? ThreadCpuClock.Nanoseconds() : 0;
        long start = Stopwatch.GetTimestamp();
        step();
        double wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        double cpuMs = ThreadCpuClock.IsAvailable ? (ThreadCpuClock.Nanoseconds() - cpu) / 1e6 : double.NaN;
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
