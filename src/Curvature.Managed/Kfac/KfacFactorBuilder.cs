using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Kfac.Internals;
using Curvature.Loss;
using Curvature.Internals;

namespace Curvature.Kfac;

/// <summary>
/// Accumulates the Kronecker factors of every block of a <see cref="ModelSpec"/> from per-batch layer inputs and
/// output gradients, exactly as curvlinops:
/// <c>A = Σ_b Σ_n Σ_s x xᵀ / (N·S')</c> and <c>G = Σ_b κ_b Σ_v Σ_n Σ_s g gᵀ</c> with
/// <c>κ_b = (N_b·P)² / (P·N)</c> (mean) or 1 (sum). Batches may have different sizes.
/// </summary>
/// <remarks>
/// Every dense accumulation is a BLAS <c>?SYRK</c> with β = 1 through the <see cref="CurvatureBackend"/>. A rejected call
/// (wrong shapes, empty batch, non-finite values) leaves every factor untouched. Scratch buffers grow to the largest batch
/// seen and are reused. Not thread-safe: a call from a second thread while another is in progress throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class KfacFactorBuilder<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly KfacBlock<T>[] _blocks;
    private readonly (int First, int Count)[] _layerBlocks;
    private readonly LayerFactorAccumulator<T> _accumulator = new();
    private readonly SingleCallerGuard _guard = new();

    /// <summary>Creates a builder with zero factors (G = I for the forward-only Fisher).</summary>
    public KfacFactorBuilder(CurvatureBackend backend, ModelSpec model, KfacOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(model);
        model.EnsureOperatorCompatible("The K-FAC factor builder");
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _backend = backend;
        Model = model;
        Options = options;
        _blocks = [.. model.Blocks.Select(b => new KfacBlock<T>(b))];
        _layerBlocks = LayerBlockRanges(model);
        Reset();
    }

    /// <summary>The model structure.</summary>
    public ModelSpec Model { get; }

    /// <summary>The accumulation options.</summary>
    public KfacOptions Options { get; }

    /// <summary>The blocks in block order.</summary>
    public IReadOnlyList<KfacBlock<T>> Blocks => _blocks;

    /// <summary>The loss correction κ_b of a batch: <c>(N_b·P)² / (P·N)</c> for mean reduction, 1 for sum.</summary>
    public static double LossCorrection(LossReduction reduction, int batchSize, int lossTermsPerExample, int numData) =>
        reduction == LossReduction.Sum
            ? 1.0
            : (double)batchSize * lossTermsPerExample * batchSize * lossTermsPerExample / ((double)lossTermsPerExample * numData);

    /// <summary>Sets all factors back to zero (G = I for the forward-only Fisher).</summary>
    public void Reset()
    {
        using var busy = _guard.Enter(this);
        foreach (var b in _blocks)
        {
            b.Clear();
            if (Options.Fisher == FisherType.ForwardOnly)
            {
                b.SetGradientCovarianceToIdentity();
            }
        }
    }

    /// <summary>Adds one batch of one layer to the factors of every block of that layer.</summary>
    /// <param name="layerIndex">Index of the layer in <see cref="ModelSpec.Layers"/>.</param>
    /// <param name="input">The layer input <c>a</c>, row-major.</param>
    /// <param name="inputShape">Shape of <c>a</c>: <c>[N_b, D_in]</c>, <c>[N_b, S…, D_in]</c> or <c>[N_b, C_in, H, W]</c>.</param>
    /// <param name="gradients">The output gradients <c>g</c>, row-major (ignored for the forward-only Fisher).</param>
    /// <param name="gradientShape">Shape of <c>g</c>: <c>[V, N_b, S…, D_out]</c> or <c>[V, N_b, C_out, OH, OW]</c>.</param>
    /// <exception cref="ArgumentException">Shapes do not match, the batch is empty, a value is not finite, or values so large
    /// that a factor could overflow; nothing changed.</exception>
    public void AccumulateLayer(int layerIndex, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape)
    {
        using var busy = _guard.Enter(this);
        ArgumentOutOfRangeException.ThrowIfNegative(layerIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layerIndex, Model.Layers.Count);
        var layer = Model.Layers[layerIndex];
        bool forwardOnly = Options.Fisher == FisherType.ForwardOnly;
        var shape = LayerFactorAccumulator<T>.Validate(layer, input, inputShape, gradients, gradientShape, forwardOnly);

        var approx = Options.Approximation;
        int inputRows = KfacWeightSharing.InputRows(shape, approx);
        int sharing = approx == WeightSharing.Expand ? shape.SharedPositions : 1;
        double inputScale = 1.0 / ((double)Options.NumData * sharing);
        double gradientScale = LossCorrection(Options.Reduction, shape.BatchSize, Options.LossTermsPerExample, Options.NumData);
        EnsureFactorsCannotOverflow(layerIndex, layer, shape, input, gradients, forwardOnly, inputRows, inputScale, gradientScale);

        // Everything is validated: from here on nothing can fail.
        var (first, count) = _layerBlocks[layerIndex];
        _accumulator.Accumulate(_backend, layer, _blocks.AsSpan(first, count), shape, input, gradients,
            Options.NumData, Options.Reduction, Options.LossTermsPerExample, approx, forwardOnly);
    }

    /// <summary>Adds one batch of the layer named <paramref name="layerName"/>; see <see cref="AccumulateLayer(int, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/>.</summary>
    public void AccumulateLayer(string layerName, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape) =>
        AccumulateLayer(Model.LayerIndex(layerName), input, inputShape, gradients, gradientShape);

    /// <summary>The block-diagonal operator over the current factors (it views them: later accumulation changes it).</summary>
    public KfacOperator<T> ToOperator() => new(_backend, Model, _blocks);

    /// <summary>
    /// Finite values can still overflow a factor (squares of magnitudes above ~1e154 in double, ~1e19 in float, or sums
    /// over many batches). Whether they do must not depend on a backend's order of operations, so the decision is made
    /// here, the same way on every backend: the batch is rejected when the largest entry it can add (rows × largest² ×
    /// scale, with a weight-shared reduction's sum counted) plus the largest entry already accumulated could exceed a
    /// quarter of the largest value. Factors are sums of outer products, so their largest entry is on the diagonal.
    /// </summary>
    private void EnsureFactorsCannotOverflow(int layerIndex, LayerSpec layer, KfacBatchShape shape, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients,
        bool forwardOnly, int inputRows, double inputScale, double gradientScale)
    {
        double limit = (typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue) / 4;
        double positions = Math.Max(1, shape.SharedPositions);
        double mx = Math.Max(1, LargestMagnitude(input) * positions); // ≥ 1: the ones column of joint blocks
        double inputGrowth = mx * mx * Math.Max(1, inputRows) * Math.Max(1, inputScale);
        double gradientGrowth = 0;
        if (!forwardOnly)
        {
            double mg = LargestMagnitude(gradients) * positions;
            gradientGrowth = mg * mg * Math.Max(1, gradients.Length) * Math.Max(1, gradientScale);
        }

        foreach (var b in _blocks)
        {
            if (b.Layout.LayerIndex != layerIndex)
            {
                continue;
            }

            if (b.Layout.HasInputFactor && !(LargestDiagonal(b.InputStorage.Span, b.Layout.InputSize) + inputGrowth <= limit))
            {
                throw new ArgumentException($"The input of layer '{layer.Name}' is too large: its Kronecker factor could overflow. Nothing changed.", "input");
            }

            if (!forwardOnly && !(LargestDiagonal(b.GradientStorage.Span, b.Layout.OutputSize) + gradientGrowth <= limit))
            {
                throw new ArgumentException($"The output gradients of layer '{layer.Name}' are too large: their Kronecker factor could overflow. Nothing changed.", "gradients");
            }
        }
    }

    private static double LargestMagnitude(ReadOnlySpan<T> values)
    {
        double largest = 0;
        foreach (T v in values)
        {
            largest = Math.Max(largest, Math.Abs(double.CreateTruncating(v)));
        }

        return largest;
    }

    private static double LargestDiagonal(ReadOnlySpan<T> factor, int n)
    {
        double largest = 0;
        for (int i = 0; i < n; i++)
        {
            largest = Math.Max(largest, Math.Abs(double.CreateTruncating(factor[(i * n) + i])));
        }

        return largest;
    }

    /// <summary>For every layer, the first of its blocks in <see cref="ModelSpec.Blocks"/> and how many it has.</summary>
    internal static (int First, int Count)[] LayerBlockRanges(ModelSpec model)
    {
        var ranges = new (int First, int Count)[model.Layers.Count];
        for (int i = 0; i < ranges.Length; i++)
        {
            ranges[i] = (-1, 0);
        }

        foreach (var b in model.Blocks)
        {
            var (first, count) = ranges[b.LayerIndex];
            ranges[b.LayerIndex] = (first < 0 ? b.Index : first, count + 1);
        }

        return ranges;
    }
}
