using System.Numerics;
using System.Runtime.InteropServices;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Xunit;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// Shared pieces of the optimizer tests: seeded parameters and gradients bound for a <see cref="ModelSpec"/>, the
/// optimizer's full state as bytes (checkpoint plus parameter values) for bit-for-bit comparisons, and one layer's slice of
/// the running statistics.
/// </summary>
internal static class OptimizerHarness
{
    /// <summary>Uniform values in [−scale, scale].</summary>
    public static T[] Random<T>(Random rng, int length, double scale = 1)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        [.. Enumerable.Range(0, length).Select(_ => T.CreateChecked(((2 * rng.NextDouble()) - 1) * scale))];

    /// <summary>Values (uniform in ±0.5) and zero gradients for every parameter of <paramref name="model"/>.</summary>
    public static (ParameterSet Values, ParameterSet Gradients) Bind<T>(ModelSpec model, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        foreach (var p in model.Parameters)
        {
            values.Add(p.Name, Random<T>(rng, p.Length, 0.5), p.Shape);
            gradients.Add(p.Name, new T[p.Length], p.Shape);
        }

        return (values, gradients);
    }

    /// <summary>Copies every tensor of <paramref name="source"/> into the same-named tensor of <paramref name="target"/>.</summary>
    public static void CopyInto<T>(ParameterSet source, ParameterSet target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var (name, tensor) in source)
        {
            ((NamedTensor<T>)tensor).Span.CopyTo(target.Get<T>(name).Span);
        }
    }

    /// <summary>Fills every gradient with seeded values.</summary>
    public static void FillGradients<T>(ParameterSet gradients, Random rng, double scale = 0.1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var tensor in gradients.Values)
        {
            Random<T>(rng, tensor.Length, scale).CopyTo(((NamedTensor<T>)tensor).Span);
        }
    }

    /// <summary>The tensors of <paramref name="set"/> concatenated in <paramref name="model"/>'s parameter order.</summary>
    public static T[] Flat<T>(ModelSpec model, ParameterSet set)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var flat = new T[model.Dimension];
        foreach (var p in model.Parameters)
        {
            set.Get<T>(p.Name).Span.CopyTo(flat.AsSpan(p.Offset, p.Length));
        }

        return flat;
    }

    /// <summary>The optimizer's checkpoint.</summary>
    public static byte[] Save<T>(CurvatureOptimizer<T> optimizer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var stream = new MemoryStream();
        optimizer.Save(stream);
        return stream.ToArray();
    }

    /// <summary>Everything that can change: the checkpoint, the parameter values and the step count.</summary>
    public static byte[] State<T>(CurvatureOptimizer<T> optimizer, ParameterSet values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var stream = new MemoryStream();
        optimizer.Save(stream);
        stream.Write(MemoryMarshal.AsBytes(Flat<T>(optimizer.Model, values).AsSpan()));
        stream.Write(BitConverter.GetBytes(optimizer.StepCount));
        stream.Write(BitConverter.GetBytes(optimizer.Damping));
        return stream.ToArray();
    }

    /// <summary>The committed running statistics of one layer (layouts: see the block classes).</summary>
    public static T[] LayerStatistics<T>(CurvatureOptimizer<T> optimizer, string layer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var block = optimizer.Blocks[optimizer.Model.LayerIndex(layer)];
        return optimizer.Statistics.Slice(block.StatisticsOffset, block.StatisticsLength).ToArray();
    }

    /// <summary>Maximum absolute difference relative to max(1e-300, max |expected|).</summary>
    public static double RelativeError(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1e-300, diff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            diff = Math.Max(diff, Math.Abs(expected[i] - actual[i]));
        }

        return diff / scale;
    }

    /// <summary>Asserts <see cref="RelativeError"/> ≤ <paramref name="tolerance"/>.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string what)
    {
        double error = RelativeError(expected, actual);
        Assert.True(error <= tolerance, $"{what}: relative error {error:e3} > {tolerance:e1}");
    }
}
