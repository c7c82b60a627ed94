using System.Diagnostics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Kfac;

namespace Curvature.Benchmarks.Latency;

/// <summary>
/// A service-style K-FAC loop on one dense layer (in = out = n, float64): every step one factor update and one natural
/// gradient, the inverses refreshed every <see cref="RefreshPeriod"/> updates, synchronously or in the background.
/// Records the wall time of every step and the bytes the caller's thread allocated in the measured steps.
/// </summary>
internal static class ServiceLoop
{
    /// <summary>Samples per batch.</summary>
    public const int Batch = 256;

    /// <summary>Inverse refresh period T.</summary>
    public const int RefreshPeriod = 20;

    private const int Batches = 4;

    /// <summary>Runs <paramref name="warmup"/> unmeasured then <paramref name="steps"/> measured steps, inverses every <paramref name="refreshPeriod"/> updates.</summary>
    public static LatencyResult Run(CurvatureBackend backend, string backendName, int n, KfacInverseRefresh refresh, int warmup, int steps, int refreshPeriod)
    {
        var activations = new double[Batches][];
        var gradients = new double[Batches][];
        for (int b = 0; b < Batches; b++)
        {
            activations[b] = SeededData.Uniform<double>(Batch * n, SeededData.SeedFor(n, (2 * b) + 1));
            gradients[b] = SeededData.Uniform<double>(Batch * n, SeededData.SeedFor(n, (2 * b) + 2));
        }

        var weightGradient = SeededData.Uniform<double>(n * n, SeededData.SeedFor(n, 99));
        var natural = new double[n * n];
        var ticks = new long[steps];
        long maxLag = 0;
        var options = new KfacPreconditionerOptions { InverseUpdatePeriod = refreshPeriod, InverseRefresh = refresh };
        using var layer = new KfacLayerPreconditioner<double>(backend, n, n, options);

        for (int s = 0; s < warmup; s++)
        {
            Step(layer, activations[s % Batches], gradients[s % Batches], weightGradient, natural, n);
        }

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < steps; s++)
        {
            long start = Stopwatch.GetTimestamp();
            Step(layer, activations[(warmup + s) % Batches], gradients[(warmup + s) % Batches], weightGradient, natural, n);
            ticks[s] = Stopwatch.GetTimestamp() - start;
            maxLag = Math.Max(maxLag, layer.InverseLag);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        layer.WaitForPendingRefresh();
        var milliseconds = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            milliseconds[s] = ticks[s] * 1000.0 / Stopwatch.Frequency;
        }

        return new LatencyResult(backendName, n, refresh, refreshPeriod, milliseconds, (double)allocated / steps, maxLag);
    }

    private static void Step(KfacLayerPreconditioner<double> layer, double[] a, double[] g, double[] weightGradient, double[] natural, int n)
    {
        layer.Update(new ReadOnlySpan2D<double>(a, Batch, n), new ReadOnlySpan2D<double>(g, Batch, n));
        layer.NaturalGradient(new ReadOnlySpan2D<double>(weightGradient, n, n), new Span2D<double>(natural, n, n));
    }
}
