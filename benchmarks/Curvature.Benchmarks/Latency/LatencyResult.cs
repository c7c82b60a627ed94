using Curvature.Optimizers;

namespace Curvature.Benchmarks.Latency;

/// <summary>The per-step times of one service-loop run and their order statistics.</summary>
internal sealed class LatencyResult
{
    /// <summary>Sorts a copy of the step times and computes the statistics.</summary>
    public LatencyResult(string backend, int n, RefreshMode refresh, int refreshPeriod, double[] stepMilliseconds, double allocatedBytesPerStep, long maxSwapDelay)
    {
        Backend = backend;
        N = n;
        Refresh = refresh;
        RefreshPeriod = refreshPeriod;
        Steps = stepMilliseconds.Length;
        AllocatedBytesPerStep = allocatedBytesPerStep;
        MaxSwapDelay = maxSwapDelay;
        var sorted = (double[])stepMilliseconds.Clone();
        Array.Sort(sorted);
        Median = Percentile(sorted, 0.50);
        P90 = Percentile(sorted, 0.90);
        P99 = Percentile(sorted, 0.99);
        Max = sorted[^1];
    }

    /// <summary>Backend name.</summary>
    public string Backend { get; }

    /// <summary>Layer order n.</summary>
    public int N { get; }

    /// <summary>Refresh mode.</summary>
    public RefreshMode Refresh { get; }

    /// <summary>Inverse refresh period (int.MaxValue: no refresh after the warm-up).</summary>
    public int RefreshPeriod { get; }

    /// <summary>Measured steps.</summary>
    public int Steps { get; }

    /// <summary>Median step time, ms.</summary>
    public double Median { get; }

    /// <summary>90th percentile, ms.</summary>
    public double P90 { get; }

    /// <summary>99th percentile, ms.</summary>
    public double P99 { get; }

    /// <summary>Slowest step, ms.</summary>
    public double Max { get; }

    /// <summary>p99 / median.</summary>
    public double TailRatio => P99 / Median;

    /// <summary>Bytes allocated by the caller's thread per measured step.</summary>
    public double AllocatedBytesPerStep { get; }

    /// <summary>Background mode: the most steps between the step that started a refresh and the step that swapped it in
    /// (1 when every refresh finished before the next step); 0 in synchronous mode.</summary>
    public long MaxSwapDelay { get; }

    /// <summary>Linear interpolation between closest ranks (the "R-7" / NumPy default definition).</summary>
    private static double Percentile(double[] sorted, double q)
    {
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((h - lo) * (sorted[hi] - sorted[lo]));
    }
}
