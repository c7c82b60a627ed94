using System.Diagnostics;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Damping;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Benchmarks.Latency;

/// <summary>
/// A service-style K-FAC loop on one dense layer (in = out = n, no bias, float64) with <see cref="KfacOptimizer{T}"/>:
/// every step one observation (two <c>?SYRK</c>) and one <c>Step</c> (preconditioned gradient with the cached inverse,
/// two <c>?GEMM</c>, and the parameter update), the inverses refreshed every <see cref="RefreshPeriod"/> steps,
/// synchronously or in the background. Records the wall time of every step, the bytes the caller's thread allocated in
/// the measured steps, and how many steps a background refresh took to be swapped in.
/// </summary>
internal static class ServiceLoop
{
    /// <summary>Samples per batch.</summary>
    public const int Batch = 256;

    /// <summary>Inverse refresh period T.</summary>
    public const int RefreshPeriod = 20;

    private const int Batches = 4;

    /// <summary>Runs <paramref name="warmup"/> unmeasured then <paramref name="steps"/> measured steps, inverses every <paramref name="refreshPeriod"/> steps.</summary>
    public static LatencyResult Run(CurvatureBackend backend, string backendName, int n, RefreshMode refresh, int warmup, int steps, int refreshPeriod)
    {
        var activations = new double[Batches][];
        var gradients = new double[Batches][];
        for (int b = 0; b < Batches; b++)
        {
            activations[b] = SeededData.Uniform<double>(Batch * n, SeededData.SeedFor(n, (2 * b) + 1));
            gradients[b] = SeededData.Uniform<double>(Batch * n, SeededData.SeedFor(n, (2 * b) + 2));
        }

        var model = new ModelSpec([LayerSpec.Linear("fc", n, n, bias: false)]);
        var values = new ParameterSet();
        values.Add("fc.weight", SeededData.Uniform<double>(n * n, SeededData.SeedFor(n, 98)), n, n);
        var weightGradient = new ParameterSet();
        weightGradient.Add("fc.weight", SeededData.Uniform<double>(n * n, SeededData.SeedFor(n, 99)), n, n);
        int[] inputShape = [Batch, n], gradientShape = [1, Batch, n];
        var ticks = new long[steps];
        long maxDelay = 0, lastStart = 0;
        using var kfac = new KfacOptimizer<double>(backend, model, values, weightGradient, new KfacOptimizerOptions
        {
            InverseUpdatePeriod = refreshPeriod,
            Refresh = refresh,
            Damping = 1e-3,
            DampingMode = DampingMode.TraceScaled,
            DampingAdaptation = DampingAdaptation.Fixed,
        });

        for (int s = 0; s < warmup; s++)
        {
            kfac.Observe("fc", activations[s % Batches], inputShape, gradients[s % Batches], gradientShape);
            kfac.Step(double.NaN);
        }

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < steps; s++)
        {
            long start = Stopwatch.GetTimestamp();
            kfac.Observe("fc", activations[(warmup + s) % Batches], inputShape, gradients[(warmup + s) % Batches], gradientShape);
            var result = kfac.Step(double.NaN);
            ticks[s] = Stopwatch.GetTimestamp() - start;

            // Background mode: a refresh starts at the end of a step s ≡ 0 (mod T) and is swapped in by a later step.
            if (refresh == RefreshMode.Background && result.Refreshed)
            {
                maxDelay = Math.Max(maxDelay, result.Step - lastStart);
            }

            if (result.Step % refreshPeriod == 0)
            {
                lastStart = result.Step;
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        kfac.WaitForPendingRefresh();
        var milliseconds = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            milliseconds[s] = ticks[s] * 1000.0 / Stopwatch.Frequency;
        }

        return new LatencyResult(backendName, n, refresh, refreshPeriod, milliseconds, (double)allocated / steps, maxDelay);
    }
}
