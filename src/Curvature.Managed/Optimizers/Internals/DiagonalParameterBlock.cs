using System.Numerics;
using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Models;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// The fallback curvature of a parameter without layer structure: a diagonal empirical Fisher from the parameter's own
/// gradient (KFAC-JAX's <c>NaiveDiagonal</c> for generic parameters), <c>F = EMA(N·(∂L/∂θ)²)</c> with N the batch size of
/// the step (the gradient of a mean loss carries 1/N, so N·(∂L/∂θ)² estimates the per-example second moment), applied as
/// <c>g / (F + λ)</c>.
/// </summary>
internal sealed class DiagonalParameterBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _sumReduction;

    public DiagonalParameterBlock(ModelSpec model, int layerIndex, int weightOffset, bool sumReduction)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, -1)
    {
        _sumReduction = sumReduction;
    }

    public override int StatisticsLength => Layer.WeightLength;

    public override bool UsesObservations => false;

    public override OptimizerMemory Memory => default;

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings) =>
        throw new InvalidOperationException($"Parameter '{Layer.Name}' takes no observations.");

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings) =>
        throw new InvalidOperationException($"Parameter '{Layer.Name}' takes no observations.");

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
        ReadOnlySpan<T> g = gradient.Slice(WeightOffset, StatisticsLength);
        T scale = add * T.CreateChecked(_sumReduction ? 1 : batchSize);
        for (int i = 0; i < g.Length; i++)
        {
            next[i] = (keep * current[i]) + (scale * g[i] * g[i]);
        }
    }

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction)
    {
        T lambda = T.CreateChecked(damping);
        for (int i = 0; i < statistics.Length; i++)
        {
            direction[WeightOffset + i] = gradient[WeightOffset + i] / (statistics[i] + lambda);
        }
    }

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result)
    {
        for (int i = 0; i < statistics.Length; i++)
        {
            result[WeightOffset + i] = statistics[i] * vector[WeightOffset + i];
        }
    }
}
