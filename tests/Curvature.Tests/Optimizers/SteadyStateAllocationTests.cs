using Curvature.Backends.Managed;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Optimizers;
using Xunit;
using static Curvature.Tests.Optimizers.OptimizerHarness;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// Steady-state steps (observations of every layer, then <c>Step</c>, with refreshes every other step and Levenberg–Marquardt
/// damping adaptation) allocate nothing on the caller's thread, for every optimizer, block kind and refresh mode. The
/// acceptance measurement with BenchmarkDotNet's memory diagnoser is <c>Optimizers.OptimizerStepBenchmarks</c>.
/// </summary>
public class SteadyStateAllocationTests
{
    public static TheoryData<string, RefreshMode> Cases() => new()
    {
        { "kfac", RefreshMode.Synchronous },
        { "kfac", RefreshMode.Background },
        { "ekfac", RefreshMode.Synchronous },
        { "ekfac", RefreshMode.Background },
        { "adafisher", RefreshMode.Synchronous },
        { "adafisher-official", RefreshMode.Synchronous },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SteadyStateSteps_AllocateNothing(string kind, RefreshMode refresh)
    {
        var backend = new ManagedBackend();
        const int n = 4;
        var geometry = new Conv2dGeometry(2, 3, 3, 3, paddingHeight: 1, paddingWidth: 1);
        var model = new ModelSpec(
        [
            LayerSpec.Conv2d("conv", geometry),
            LayerSpec.Linear("seq", 4, 3),
            LayerSpec.LayerNorm("ln", 3),
            LayerSpec.Embedding("emb", 6, 4),
            LayerSpec.Parameter("p", 5),
        ]);
        var rng = new Random(1);
        var (values, grads) = Bind<double>(model, rng);
        using CurvatureOptimizer<double> optimizer = kind switch
        {
            "kfac" => new KfacOptimizer<double>(backend, model, values, grads, new KfacOptimizerOptions { InverseUpdatePeriod = 2, Refresh = refresh }),
            "ekfac" => new EkfacOptimizer<double>(backend, model, values, grads, new EkfacOptimizerOptions { EigenbasisUpdatePeriod = 2, Refresh = refresh }),
            "adafisher" => new AdaFisherOptimizer<double>(backend, model, values, grads, new AdaFisherOptimizerOptions { Refresh = refresh }),
            _ => new AdaFisherOptimizer<double>(backend, model, values, grads, AdaFisherOptimizerOptions.Official(tCov: 1, weightDecay: 1e-3, decoupled: true)),
        };

        var observations = new (string Layer, double[] A, int[] AShape, double[] G, int[] GShape)[]
        {
            ("conv", Random<double>(rng, n * 2 * 5 * 5), [n, 2, 5, 5], Random<double>(rng, n * 3 * 5 * 5, 0.1), [1, n, 3, 5, 5]),
            ("seq", Random<double>(rng, n * 3 * 4), [n, 3, 4], Random<double>(rng, n * 3 * 3, 0.1), [1, n, 3, 3]),
            ("ln", Random<double>(rng, n * 3 * 3), [n, 3, 3], Random<double>(rng, n * 3 * 3, 0.1), [1, n, 3, 3]),
            ("emb", [.. Enumerable.Range(0, n * 3).Select(i => (double)(i % 6))], [n, 3], Random<double>(rng, n * 3 * 4, 0.1), [1, n, 3, 4]),
        }.Where(o => optimizer.Blocks[model.LayerIndex(o.Layer)].UsesObservations).ToArray();
        var gradient = Random<double>(rng, model.Dimension, 0.1);
        var parameters = model.Parameters.Select(p => (grads.Get<double>(p.Name).Data, p.Offset)).ToArray();

        void OneStep(int step)
        {
            if (optimizer.NeedsObservations)
            {
                foreach (var (layer, a, aShape, g, gShape) in observations)
                {
                    optimizer.Observe(layer, a, aShape, g, gShape);
                }
            }

            foreach (var (target, offset) in parameters)
            {
                gradient.AsSpan(offset, target.Length).CopyTo(target.Span);
            }

            optimizer.Step(1.0 / (step + 1));
        }

        for (int step = 0; step < 12; step++)
        {
            OneStep(step);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 12; step < 32; step++)
        {
            OneStep(step);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        optimizer.WaitForPendingRefresh();
        Assert.Equal(0, allocated);
    }
}
