using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>
/// The acceptance measurement of the optimizer layer: the steady-state training step of each optimizer (K-FAC, EKFAC,
/// AdaFisher) with its default settings — every layer observed, then <c>Step(loss)</c> with Levenberg–Marquardt damping
/// (K-FAC, EKFAC), KL clipping and momentum — on an MLP 64-128-10 (Linear layers with bias, batch 64, float64), with
/// synchronous and with background refresh. Inverses (K-FAC) and eigenbases (EKFAC) are refreshed every 10 steps, so one
/// measured operation in ten includes a refresh (or, in background mode, starts one on the worker thread and a later one
/// swaps it in). The memory diagnoser must show 0 B allocated per step in every case (AdaFisher has no refresh: its two
/// rows measure the same work). The job is <see cref="AllocationJobAttribute"/>'s (no tiered compilation, long iterations),
/// so the runtime's own allocations do not count as the step's.
/// </summary>
[BenchmarkCategory("Composite", "OptimizerStep")]
[AllocationJob]
public class OptimizerStepBenchmarks
{
    private const int Batch = 64;
    private static readonly (string Name, int In, int Out)[] Layers = [("fc1", 64, 128), ("fc2", 128, 10)];
    private CurvatureOptimizer<double> _optimizer = null!;
    private LayerObservation<double>[] _observations = [];
    private int _step;

    /// <summary>The optimizer.</summary>
    [Params("Kfac", "Ekfac", "AdaFisher")]
    public string Optimizer { get; set; } = "Kfac";

    /// <summary>Where inverses and eigenbases are recomputed.</summary>
    [Params(RefreshMode.Synchronous, RefreshMode.Background)]
    public RefreshMode Refresh { get; set; } = RefreshMode.Synchronous;

    /// <summary>The backends measured in this run.</summary>
    public static IEnumerable<string> Backends() => BenchmarkBackends.Available;

    /// <summary>The backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>Creates the optimizer with seeded parameters, gradients and layer data, and takes 30 warm-up steps (three
    /// refreshes).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var backend = BenchmarkBackends.Create(Backend, 1);
        var model = new ModelSpec(Layers.Select(l => LayerSpec.Linear(l.Name, l.In, l.Out)));
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        int stream = 10;
        foreach (var p in model.Parameters)
        {
            values.Add(p.Name, Scaled(SeededData.Uniform<double>(p.Length, SeededData.SeedFor(p.Length, stream++)), 0.1), p.Shape);
            gradients.Add(p.Name, Scaled(SeededData.Uniform<double>(p.Length, SeededData.SeedFor(p.Length, stream++)), 0.01), p.Shape);
        }

        _optimizer = Optimizer switch
        {
            "Kfac" => new KfacOptimizer<double>(backend, model, values, gradients, new KfacOptimizerOptions { Refresh = Refresh }),
            "Ekfac" => new EkfacOptimizer<double>(backend, model, values, gradients, new EkfacOptimizerOptions { Refresh = Refresh }),
            _ => new AdaFisherOptimizer<double>(backend, model, values, gradients, new AdaFisherOptimizerOptions { Refresh = Refresh }),
        };
        _observations = [.. Layers.Select((l, i) => new LayerObservation<double>(
            l.Name,
            SeededData.Uniform<double>(Batch * l.In, SeededData.SeedFor(l.In, 40 + i)),
            [Batch, l.In],
            Scaled(SeededData.Uniform<double>(Batch * l.Out, SeededData.SeedFor(l.Out, 50 + i)), 1.0 / Batch),
            [1, Batch, l.Out]))];
        for (int i = 0; i < 30; i++)
        {
            Step();
        }

        // The background workers start with the first refreshes; let them run once (thread start-up) before measuring.
        _optimizer.WaitForPendingRefresh();
    }

    /// <summary>Waits for a refresh in flight and disposes the optimizer (stops its workers).</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.WaitForPendingRefresh();
        _optimizer.Dispose();
    }

    /// <summary>One training step: every layer observed, then <c>Step(loss)</c>.</summary>
    [Benchmark]
    public StepResult Step()
    {
        if (_optimizer.NeedsObservations)
        {
            _optimizer.ObserveAll(_observations);
        }

        // A loss that varies from step to step, so the damping adaptation sees reductions and increases.
        return _optimizer.Step(1.0 + (0.25 * ((_step++ % 3) - 1)));
    }

    private static double[] Scaled(double[] values, double scale)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= scale;
        }

        return values;
    }
}
