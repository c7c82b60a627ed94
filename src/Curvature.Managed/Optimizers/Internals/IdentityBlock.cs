using System.Numerics;
using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Models;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// No curvature: <c>F̃ = 1</c> without damping, what the official AdaFisher does for parameters outside its supported
/// layers (official-compatible mode only).
/// </summary>
internal sealed class IdentityBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public IdentityBlock(ModelSpec model, int layerIndex, int weightOffset, int biasOffset)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, biasOffset)
    {
    }

    public override int StatisticsLength => 0;

    public override bool UsesObservations => false;

    public override OptimizerMemory Memory => default;

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings) =>
        throw new InvalidOperationException($"Layer '{Layer.Name}' takes no observations.");

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings) =>
        throw new InvalidOperationException($"Layer '{Layer.Name}' takes no observations.");

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
    }

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction) =>
        Copy(gradient, direction);

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result) =>
        Copy(vector, result);

    private void Copy(ReadOnlySpan<T> source, Span<T> destination)
    {
        source.Slice(WeightOffset, Layer.WeightLength).CopyTo(destination.Slice(WeightOffset, Layer.WeightLength));
        if (BiasOffset >= 0)
        {
            source.Slice(BiasOffset, Layer.OutputSize).CopyTo(destination.Slice(BiasOffset, Layer.OutputSize));
        }
    }
}
