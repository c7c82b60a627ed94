using System.Numerics;
using Curvature.Backends;
using KfacFactorBuilderOptions = Curvature.Kfac.KfacOptions;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// For the same observations, the optimizers' Kronecker factors are the operator path's: after one step they equal
/// <see cref="Curvature.Kfac.KfacFactorBuilder{T}"/>'s factors of that batch (N = the batch size) bit for bit on the managed backend and
/// to 1e-12 on the native ones; after a second batch they are the bias-corrected average of the two builders' factors.
/// </summary>
public class FactorParityTests
{
    public static TheoryData<string, bool> Cases() => TestBackends.NamesWithFlag();

    [Theory]
    [MemberData(nameof(Cases))]
    public void KfacAndEkfacFactors_EqualTheFactorBuilders(string backendName, bool separate)
    {
        var backend = TestBackends.Get(backendName);
        Check<double>(backend, separate, backendName == "managed" ? 0 : 1e-12);
        Check<float>(backend, separate, backendName == "managed" ? 0 : 1e-5);
    }

    private static void Check<T>(CurvatureBackend backend, bool separate, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geometry = new Conv2dGeometry(2, 3, 3, 3, paddingHeight: 1, paddingWidth: 1, strideWidth: 2);
        var model = new ModelSpec(
            [LayerSpec.Linear("seq", 4, 3), LayerSpec.Conv2d("conv", geometry), LayerSpec.Linear("head", 5, 2, bias: false)],
            separateWeightAndBias: separate);
        var (values, grads) = Parameters<T>(model);
        var rng = new Random(3);
        var batches = Enumerable.Range(0, 2).Select(_ => Observations<T>(rng, geometry)).ToArray();

        foreach (bool ekfac in new[] { false, true })
        {
            using CurvatureOptimizer<T> optimizer = ekfac
                ? new EkfacOptimizer<T>(backend, model, values, grads)
                : new KfacOptimizer<T>(backend, model, values, grads);
            var builders = new List<Curvature.Kfac.KfacFactorBuilder<T>>();
            foreach (var batch in batches)
            {
                var builder = new Curvature.Kfac.KfacFactorBuilder<T>(backend, model, new KfacFactorBuilderOptions { NumData = batch[0].Shape[0] });
                foreach (var (layer, a, aShape, g, gShape) in batch.Select(o => (o.Layer, o.A, o.Shape, o.G, o.GShape)))
                {
                    optimizer.Observe(layer, a, aShape, g, gShape);
                    builder.AccumulateLayer(layer, a, aShape, g, gShape);
                }

                optimizer.Step(1.0);
                builders.Add(builder);

                // Expected: the bias-corrected average of the builders' factors (weights 1, then 1/(0.95 + 1)).
                var blocks = optimizer.Blocks;
                int blockIndex = 0;
                foreach (var block in blocks)
                {
                    int offset = block.StatisticsOffset;
                    foreach (var layout in model.Blocks.Where(b => b.LayerIndex == block.LayerIndex))
                    {
                        int gLength = layout.OutputSize * layout.OutputSize, aLength = layout.InputSize * layout.InputSize;
                        var expectedG = Average(builders, blockIndex, gradient: true);
                        var expectedA = Average(builders, blockIndex, gradient: false);
                        Compare(expectedG, optimizer.Statistics.Slice(offset, gLength), tolerance, $"{(ekfac ? "EKFAC" : "K-FAC")} G of {layout}");
                        Compare(expectedA, optimizer.Statistics.Slice(offset + gLength, aLength), tolerance, $"{(ekfac ? "EKFAC" : "K-FAC")} A of {layout}");
                        offset += gLength + aLength + (ekfac ? layout.OutputSize * layout.Columns : 0);
                        blockIndex++;
                    }
                }
            }
        }
    }

    private static T[] Average<T>(List<Curvature.Kfac.KfacFactorBuilder<T>> builders, int block, bool gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] Factor(Curvature.Kfac.KfacFactorBuilder<T> b) => gradient ? b.Blocks[block].GradientCovariance.ToArray().Cast<T>().ToArray() : b.Blocks[block].InputCovariance.ToArray().Cast<T>().ToArray();
        var value = Factor(builders[0]);
        double weight = 1;
        foreach (var b in builders.Skip(1))
        {
            weight = (0.95 * weight) + 1;
            T keep = T.CreateChecked(1 - (1 / weight)), add = T.CreateChecked(1 / weight);
            var next = Factor(b);
            for (int i = 0; i < value.Length; i++)
            {
                value[i] = (keep * value[i]) + (add * next[i]);
            }
        }

        return value;
    }

    private static void Compare<T>(T[] expected, ReadOnlySpan<T> actual, double tolerance, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 0 : expected.Max(v => Math.Abs(double.CreateChecked(v)));
        for (int i = 0; i < expected.Length; i++)
        {
            if (tolerance == 0)
            {
                Assert.True(expected[i] == actual[i] || (T.IsNaN(expected[i]) && T.IsNaN(actual[i])), $"{what}[{i}]: {actual[i]} vs {expected[i]} (bitwise)");
            }
            else
            {
                Assert.True(Math.Abs(double.CreateChecked(expected[i] - actual[i])) <= tolerance * scale, $"{what}[{i}]: {actual[i]} vs {expected[i]}");
            }
        }
    }

    private static (ParameterSet Values, ParameterSet Gradients) Parameters<T>(ModelSpec model)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var values = new ParameterSet();
        var grads = new ParameterSet();
        var rng = new Random(4);
        foreach (var p in model.Parameters)
        {
            values.Add(p.Name, Enumerable.Range(0, p.Length).Select(_ => T.CreateChecked(rng.NextDouble() - 0.5)).ToArray(), p.Shape);
            grads.Add(p.Name, Enumerable.Range(0, p.Length).Select(_ => T.CreateChecked(1e-3 * (rng.NextDouble() - 0.5))).ToArray(), p.Shape);
        }

        return (values, grads);
    }

    private sealed record Observation<T>(string Layer, T[] A, int[] Shape, T[] G, int[] GShape);

    private static Observation<T>[] Observations<T>(Random rng, Conv2dGeometry geometry)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] R(int n, double s) => [.. Enumerable.Range(0, n).Select(_ => T.CreateChecked(s * ((2 * rng.NextDouble()) - 1)))];
        int n = 6, oh = geometry.OutputHeight(5), ow = geometry.OutputWidth(6);
        return
        [
            new("seq", R(n * 3 * 4, 1), [n, 3, 4], R(2 * n * 3 * 3, 0.1), [2, n, 3, 3]),
            new("conv", R(n * 2 * 5 * 6, 1), [n, 2, 5, 6], R(n * 3 * oh * ow, 0.1), [1, n, 3, oh, ow]),
            new("head", R(n * 5, 1), [n, 5], R(3 * n * 2, 0.1), [3, n, 2]),
        ];
    }
}
