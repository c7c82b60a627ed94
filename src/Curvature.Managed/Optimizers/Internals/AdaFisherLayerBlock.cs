using System.Numerics;
using System.Runtime.CompilerServices;
using Curvature.AdaFisher;
using Curvature.AdaFisher.Internals;
using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Kfac.Internals;
using Curvature.Layers;
using Curvature.Models;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// AdaFisher's diagonal Kronecker-factored Fisher of one layer (Gomes et al., ICLR 2025): an input-side diagonal H and an
/// output-side diagonal S with <c>F̃[i, j] = S_i·H_j + λ</c> over <c>[W | b]</c> (the bias is H's last entry; for the
/// official normalisation rule H is the 2-vector (scale, shift)). Principled mode: H and S are the diagonals of the K-FAC
/// factors (<c>A_jj = Σ x_j²/(N·S)</c>, <c>G_ii = κ Σ g_i²</c>), averaged like every Curvature statistic; embeddings use
/// index frequencies for H. Official-compatible mode: the official code's raw statistics, min–max normalisation and
/// running average <c>F ← (γ/10)·F + (γ/100)·MinMax(F̂)</c> starting from ones. Statistics layout: H, then S.
/// </summary>
internal sealed class AdaFisherLayerBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _official;
    private readonly double _gamma;
    private readonly int _hLength;
    private readonly int _sLength;
    private readonly T[] _stagedH;
    private readonly T[] _stagedS;
    private readonly T[] _normalised;
    private readonly Conv2dGeometry? _patchGeometry;
    private T[] _patches = [];

    public AdaFisherLayerBlock(ModelSpec model, int layerIndex, int weightOffset, int biasOffset, bool official, double gamma)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, biasOffset)
    {
        _official = official;
        _gamma = gamma;
        var layer = Layer;
        (_hLength, _sLength) = layer.Kind switch
        {
            LayerKind.Linear or LayerKind.Conv2d => (layer.WeightInputSize + (layer.HasBias ? 1 : 0), layer.OutputSize),
            LayerKind.Embedding => (layer.WeightInputSize, layer.OutputSize),
            _ => (2, layer.OutputSize), // official normalisation layers: H = (scale, shift)
        };
        _stagedH = new T[_hLength];
        _stagedS = new T[_sLength];
        _normalised = new T[Math.Max(_hLength, _sLength)];
        if (layer.Geometry is { } g)
        {
            // Patches per channel group; the official code ignores dilation.
            var source = official ? g.WithoutDilation() : g;
            _patchGeometry = new Conv2dGeometry(
                source.InChannels / source.Groups, source.OutChannels / source.Groups, source.KernelHeight, source.KernelWidth,
                source.StrideHeight, source.StrideWidth, source.PaddingHeight, source.PaddingWidth, source.DilationHeight, source.DilationWidth);
        }
    }

    public override int StatisticsLength => _hLength + _sLength;

    /// <summary>Length of the input-side factor H (first in the statistics).</summary>
    public int InputFactorLength => _hLength;

    /// <summary>Length of the output-side factor S (after H in the statistics).</summary>
    public int OutputFactorLength => _sLength;

    public override OptimizerMemory Memory => new((_stagedH.Length + _stagedS.Length + _normalised.Length + _patches.Length) * Unsafe.SizeOf<T>(), 0, 0, 0);

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings)
    {
        var layer = Layer;
        KfacBatchShape shape;
        switch (layer.Kind)
        {
            case LayerKind.Linear:
            case LayerKind.Conv2d:
                shape = LayerFactorAccumulator<T>.Validate(layer, input, inputShape, gradients, gradientShape, forwardOnly: false);
                if (_official && layer.Kind == LayerKind.Conv2d && (_patchGeometry!.OutputHeight(shape.Height) < 1 || _patchGeometry.OutputWidth(shape.Width) < 1))
                {
                    throw new ArgumentException($"The kernel of layer '{layer.Name}' does not fit the padded {shape.Height} × {shape.Width} input.", nameof(inputShape));
                }

                break;
            default:
                shape = ValidateSameShape(input, inputShape, gradients, gradientShape, layer.Kind == LayerKind.Embedding);
                break;
        }

        if (shape.Vectors != 1)
        {
            throw new ArgumentException($"AdaFisher uses the empirical Fisher: pass one output gradient per example (V = 1), not {shape.Vectors}.", nameof(gradientShape));
        }

        double positions = layer.Kind == LayerKind.Conv2d || layer.Kind == LayerKind.Linear ? shape.SharedPositions : 1.0;
        OverflowGuard.EnsureSecondMomentFits<T>(Math.Max(OverflowGuard.MaxAbs(input), 1.0) * positions, 1.0, layer.Name, "inputs", nameof(input));
        OverflowGuard.EnsureSecondMomentFits<T>(OverflowGuard.MaxAbs(gradients) * positions, settings.GradientScale(shape.BatchSize) * shape.BatchSize * positions, layer.Name, "output gradients", nameof(gradients));
        return shape;
    }

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings)
    {
        var layer = Layer;
        int n = shape.BatchSize;
        T kappa = T.CreateChecked(settings.GradientScale(n));
        switch (layer.Kind)
        {
            case LayerKind.Linear:
            {
                int rows = n * shape.SharedPositions;
                // Official: S averaged over the R = N·S rows; principled: G's diagonal, κ Σ g².
                AdaFisherStatistics.Linear(input, gradients, rows, layer.WeightInputSize, layer.OutputSize, layer.HasBias,
                    _official ? T.CreateChecked(rows) : T.One, _official ? T.One : kappa, _stagedH, _stagedS);
                break;
            }

            case LayerKind.Conv2d:
            {
                var geometry = layer.Geometry!;
                int oh = geometry.OutputHeight(shape.Height), ow = geometry.OutputWidth(shape.Width);
                int needed = _patchGeometry!.OutputHeight(shape.Height) * _patchGeometry.OutputWidth(shape.Width) * _patchGeometry.PatchSize;
                if (_patches.Length < needed)
                {
                    _patches = new T[needed];
                }

                T sDivisor = _official ? T.CreateChecked((long)n * oh * ow) : T.One;
                AdaFisherStatistics.Conv2d(input, gradients, n, shape.Height, shape.Width, _patchGeometry, geometry.Groups, geometry.OutChannels, oh * ow,
                    layer.HasBias, _official, sDivisor, _official ? T.One : kappa, _patches, _stagedH, _stagedS);
                break;
            }

            case LayerKind.Embedding:
            {
                int positions = n * shape.SharedPositions;
                Array.Clear(_stagedH);
                Array.Clear(_stagedS);
                T weight = T.One / T.CreateChecked(positions);
                foreach (T v in input)
                {
                    _stagedH[int.CreateTruncating(v)] += weight;
                }

                for (int r = 0; r < positions; r++)
                {
                    var row = gradients.Slice(r * _sLength, _sLength);
                    for (int j = 0; j < _sLength; j++)
                    {
                        _stagedS[j] += kappa * row[j] * row[j];
                    }
                }

                break;
            }

            case LayerKind.BatchNorm:
                AdaFisherStatistics.BatchNorm2d(input, gradients, n, _sLength, shape.SharedPositions, T.One, _stagedH, _stagedS);
                break;

            default:
                AdaFisherStatistics.LayerNorm(input, gradients, n, shape.Height, shape.Width, _sLength, T.One, _stagedH, _stagedS);
                break;
        }

        StagedBatchSize = n;
        HasStagedObservation = true;
    }

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
        if (!_official)
        {
            KroneckerPacking.Blend<T>(current, next, 0, _stagedH, keep, add);
            KroneckerPacking.Blend<T>(current, next, _hLength, _stagedS, keep, add);
            return;
        }

        // Official update_running_avg: F ← (γ·0.1)·F + (γ·0.01)·MinMax(F̂), F = ones at the first refresh.
        T officialKeep = T.CreateChecked(_gamma * 1e-1);
        T officialAdd = T.CreateChecked(_gamma * 1e-2);
        OfficialAverage(current[.._hLength], next[.._hLength], _stagedH, officialKeep, officialAdd);
        OfficialAverage(current[_hLength..], next[_hLength..], _stagedS, officialKeep, officialAdd);
    }

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction) =>
        ApplyDiagonal(statistics[.._hLength], statistics.Slice(_hLength, _sLength), gradient, direction, T.CreateChecked(damping), multiply: false);

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result) =>
        ApplyDiagonal(statistics[.._hLength], statistics.Slice(_hLength, _sLength), vector, result, T.Zero, multiply: true);

    private void OfficialAverage(ReadOnlySpan<T> current, Span<T> next, ReadOnlySpan<T> raw, T keep, T add)
    {
        var normalised = _normalised.AsSpan(0, raw.Length);
        raw.CopyTo(normalised);
        AdaFisherStatistics.MinMaxNormalize(normalised);
        bool first = UpdateCount == 0;
        for (int i = 0; i < next.Length; i++)
        {
            T old = first ? T.One : current[i];
            next[i] = (old * keep) + (add * normalised[i]);
        }
    }

    /// <summary><c>result = v / (F̃ + λ)</c> (or <c>F̃·v</c> when <paramref name="multiply"/>) over the layer's parameters.</summary>
    private void ApplyDiagonal(ReadOnlySpan<T> h, ReadOnlySpan<T> s, ReadOnlySpan<T> vector, Span<T> result, T lambda, bool multiply)
    {
        var layer = Layer;
        switch (layer.Kind)
        {
            case LayerKind.Linear:
            case LayerKind.Conv2d:
            {
                int d = layer.WeightInputSize;
                for (int i = 0; i < _sLength; i++)
                {
                    int row = WeightOffset + (i * d);
                    for (int j = 0; j < d; j++)
                    {
                        T f = (h[j] * s[i]) + lambda;
                        result[row + j] = multiply ? f * vector[row + j] : vector[row + j] / f;
                    }

                    if (layer.HasBias)
                    {
                        T f = (h[d] * s[i]) + lambda;
                        result[BiasOffset + i] = multiply ? f * vector[BiasOffset + i] : vector[BiasOffset + i] / f;
                    }
                }

                break;
            }

            case LayerKind.Embedding:
                for (int v = 0; v < _hLength; v++)
                {
                    int row = WeightOffset + (v * _sLength);
                    for (int j = 0; j < _sLength; j++)
                    {
                        T f = (h[v] * s[j]) + lambda;
                        result[row + j] = multiply ? f * vector[row + j] : vector[row + j] / f;
                    }
                }

                break;

            default:
                for (int c = 0; c < _sLength; c++)
                {
                    T f = (s[c] * h[0]) + lambda;
                    result[WeightOffset + c] = multiply ? f * vector[WeightOffset + c] : vector[WeightOffset + c] / f;
                    if (layer.HasBias)
                    {
                        T fb = (s[c] * h[1]) + lambda;
                        result[BiasOffset + c] = multiply ? fb * vector[BiasOffset + c] : vector[BiasOffset + c] / fb;
                    }
                }

                break;
        }
    }

    /// <summary>Validates inputs and gradients of one shape (<c>[V, …input…]</c>; embeddings add the row axis).</summary>
    private KfacBatchShape ValidateSameShape(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, bool embedding)
    {
        var layer = Layer;
        long count = 1;
        foreach (int d in inputShape)
        {
            if (d < 1)
            {
                throw new ArgumentException($"The input of layer '{layer.Name}' has an empty axis.", nameof(inputShape));
            }

            count *= d;
        }

        if (inputShape.Length < 2 && !embedding)
        {
            throw new ArgumentException($"Layer '{layer.Name}' expects an input with a batch axis and feature axes.", nameof(inputShape));
        }

        if (input.Length != count)
        {
            throw new ArgumentException($"The input holds {input.Length} values but its shape says {count}.", nameof(input));
        }

        bool channelOk = layer.Kind switch
        {
            LayerKind.BatchNorm => inputShape[1] == _sLength,
            LayerKind.LayerNorm => inputShape[^1] == _sLength,
            _ => true,
        };
        int extra = embedding ? 1 : 0;
        bool gradientOk = gradientShape.Length == inputShape.Length + 1 + extra && gradientShape[0] >= 1
            && gradientShape[1..(inputShape.Length + 1)].SequenceEqual(inputShape) && (!embedding || gradientShape[^1] == _sLength);
        if (!channelOk || !gradientOk)
        {
            throw new ArgumentException(
                $"Layer '{layer.Name}' ({layer.Kind}, {_sLength} features) cannot take inputs [{string.Join(", ", inputShape.ToArray())}] with output gradients [{string.Join(", ", gradientShape.ToArray())}].",
                nameof(gradientShape));
        }

        long gradientCount = count * gradientShape[0] * (embedding ? _sLength : 1);
        if (gradients.Length != gradientCount)
        {
            throw new ArgumentException($"The output gradients hold {gradients.Length} values but their shape says {gradientCount}.", nameof(gradients));
        }

        if (!FlatVector.AllFinite(input) || !FlatVector.AllFinite(gradients))
        {
            throw new ArgumentException($"The observation of layer '{layer.Name}' contains NaN or infinity.", nameof(input));
        }

        int n = inputShape[0];
        if (embedding)
        {
            foreach (T v in input)
            {
                if (!T.IsInteger(v) || v < T.Zero || v >= T.CreateChecked(_hLength))
                {
                    throw new ArgumentException($"Embedding layer '{layer.Name}' got index {v}; indices must be integers in [0, {_hLength}).", nameof(input));
                }
            }

            return new KfacBatchShape(n, (int)(count / n), gradientShape[0], 0, 0);
        }

        // Normalisation layers: BatchNorm [N, C, rest] (positions = rest); LayerNorm [N, T, rest] (official: T and rest).
        if (layer.Kind == LayerKind.BatchNorm)
        {
            return new KfacBatchShape(n, (int)(count / ((long)n * _sLength)), gradientShape[0], 0, 0);
        }

        int axis1 = inputShape[1];
        return new KfacBatchShape(n, (int)(count / n), gradientShape[0], axis1, (int)(count / ((long)n * axis1)));
    }
}
