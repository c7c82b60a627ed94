using System.Numerics;
using System.Runtime.CompilerServices;
using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Models;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// The diagonal Fisher of the scale γ and shift β of a BatchNorm or LayerNorm layer (KFAC-JAX's
/// <c>ScaleAndShiftDiagonal</c>): from the normalised input <c>x̂</c> and the output gradients <c>g</c>, the per-example
/// gradients <c>∇γ_c = Σ_s g x̂</c> and <c>∇β_c = Σ_s g</c> over the positions s sharing the channel, and
/// <c>F = κ Σ_{v,n} ∇²</c> (κ = N·P for a mean-reduced loss, 1 for a sum), preconditioned as <c>g / (F + λ)</c>.
/// BatchNorm normalises axis 1 of <c>[N, C(, …)]</c>; LayerNorm the last axis of <c>[N, …, D]</c>.
/// Statistics layout: <c>F_γ</c> (C), then <c>F_β</c> (C, with a shift).
/// </summary>
internal sealed class ScaleShiftBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _features;
    private readonly T[] _batch;

    public ScaleShiftBlock(ModelSpec model, int layerIndex, int weightOffset, int biasOffset)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, biasOffset)
    {
        _features = Layer.OutputSize;
        _batch = new T[StatisticsLength];
    }

    public override int StatisticsLength => _features * (Layer.HasBias ? 2 : 1);

    public override OptimizerMemory Memory => new(_batch.Length * Unsafe.SizeOf<T>(), 0, 0, 0);

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings)
    {
        bool batchNorm = Layer.Kind == LayerKind.BatchNorm;
        int axis = batchNorm ? 1 : inputShape.Length - 1;
        if (inputShape.Length < 2 || inputShape[axis] != _features)
        {
            throw new ArgumentException(
                $"{Layer.Kind} layer '{Layer.Name}' expects normalised inputs {(batchNorm ? $"[N, {_features}, …]" : $"[N, …, {_features}]")}, but got [{string.Join(", ", inputShape.ToArray())}].",
                nameof(inputShape));
        }

        long count = 1;
        foreach (int d in inputShape)
        {
            if (d < 1)
            {
                throw new ArgumentException($"The input of layer '{Layer.Name}' has an empty axis.", nameof(inputShape));
            }

            count *= d;
        }

        if (input.Length != count)
        {
            throw new ArgumentException($"The input holds {input.Length} values but its shape says {count}.", nameof(input));
        }

        if (gradientShape.Length != inputShape.Length + 1 || gradientShape[0] < 1 || !gradientShape[1..].SequenceEqual(inputShape))
        {
            throw new ArgumentException(
                $"The output gradients of layer '{Layer.Name}' must be [V, {string.Join(", ", inputShape.ToArray())}], but they are [{string.Join(", ", gradientShape.ToArray())}].",
                nameof(gradientShape));
        }

        if (gradients.Length != count * gradientShape[0])
        {
            throw new ArgumentException($"The output gradients hold {gradients.Length} values but their shape says {count * gradientShape[0]}.", nameof(gradients));
        }

        if (!FlatVector.AllFinite(input) || !FlatVector.AllFinite(gradients))
        {
            throw new ArgumentException($"The observation of layer '{Layer.Name}' contains NaN or infinity.", nameof(input));
        }

        int n = inputShape[0];
        int positions = (int)(count / ((long)n * _features));
        double perExample = positions * Math.Max(OverflowGuard.MaxAbs(input), 1.0);
        OverflowGuard.EnsureSecondMomentFits<T>(perExample * OverflowGuard.MaxAbs(gradients), settings.GradientScale(n) * n * gradientShape[0], Layer.Name, "output gradients", nameof(gradients));
        return new KfacBatchShape(n, positions, gradientShape[0], 0, 0);
    }

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings)
    {
        int n = shape.BatchSize, s = shape.SharedPositions, c = _features;
        bool batchNorm = Layer.Kind == LayerKind.BatchNorm;
        bool bias = Layer.HasBias;
        T kappa = T.CreateChecked(settings.GradientScale(n));
        Span<T> scale = _batch.AsSpan(0, c);
        Span<T> shift = bias ? _batch.AsSpan(c, c) : default;
        _batch.AsSpan().Clear();
        int image = s * c;
        for (int v = 0; v < shape.Vectors; v++)
        {
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> x = input.Slice(i * image, image);
                ReadOnlySpan<T> g = gradients.Slice(((v * n) + i) * image, image);
                for (int ch = 0; ch < c; ch++)
                {
                    T gamma = T.Zero, beta = T.Zero;
                    for (int p = 0; p < s; p++)
                    {
                        int k = batchNorm ? (ch * s) + p : (p * c) + ch;
                        gamma += g[k] * x[k];
                        beta += g[k];
                    }

                    scale[ch] += kappa * gamma * gamma;
                    if (bias)
                    {
                        shift[ch] += kappa * beta * beta;
                    }
                }
            }
        }

        StagedBatchSize = n;
        HasStagedObservation = true;
    }

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
        for (int i = 0; i < _batch.Length; i++)
        {
            next[i] = (keep * current[i]) + (add * _batch[i]);
        }
    }

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction)
    {
        T lambda = T.CreateChecked(damping);
        for (int ch = 0; ch < _features; ch++)
        {
            direction[WeightOffset + ch] = gradient[WeightOffset + ch] / (statistics[ch] + lambda);
            if (Layer.HasBias)
            {
                direction[BiasOffset + ch] = gradient[BiasOffset + ch] / (statistics[_features + ch] + lambda);
            }
        }
    }

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result)
    {
        for (int ch = 0; ch < _features; ch++)
        {
            result[WeightOffset + ch] = statistics[ch] * vector[WeightOffset + ch];
            if (Layer.HasBias)
            {
                result[BiasOffset + ch] = statistics[_features + ch] * vector[BiasOffset + ch];
            }
        }
    }
}
