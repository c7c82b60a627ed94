using System.Diagnostics;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>Plain and bridged steps, interleaved pair by pair on the same model and batch.</summary>
public static class PairedMeasurement
{
    public sealed record Result(double PlainMedianMs, double BridgeMedianMs, double MedianRatio, long PlainBytes, long BridgeBytes);

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
        for (int i = 0; i < pairs; i++)
        {
            if (i % 2 == 0)
            {
                plain[i] = Time(Plain);
                bridged[i] = Time(Bridged);
            }
            else
            {
                bridged[i] = Time(Bridged);
                plain[i] = Time(Plain);
            }

            ratios[i] = bridged[i] / plain[i];
        }

        return new Result(Median(plain), Median(bridged), Median(ratios), plainBytes, bridgeBytes);
    }

    private static double Time(Action step)
    {
        long start = Stopwatch.GetTimestamp();
        step();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
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
