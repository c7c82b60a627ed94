using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Loss;
using Curvature.Models;

namespace Curvature.Kfac.Internals;

/// <summary>
/// The one implementation of "add one batch of one Linear/Conv2d layer to its Kronecker factors" (curvlinops'
/// conventions): validates the raw input <c>a</c> and output gradients <c>g</c>, formats them in weight-sharing format and
/// adds <c>Σ x xᵀ / (N·S')</c> to every input factor and <c>κ_b Σ g gᵀ</c> to every gradient factor of the layer's blocks
/// (BLAS <c>?SYRK</c>, β = 1). Used by <see cref="KfacFactorBuilder{T}"/> (data-set factors) and by the optimizers (one
/// batch per step, with N = the batch size), so both produce bit-identical factors from the same <c>a</c> and <c>g</c>.
/// After a call, the formatted rows stay available (<see cref="InputRows"/>, <see cref="GradientRows"/>) until the next.
/// Scratch buffers grow to the largest batch seen and are reused.
/// </summary>
internal sealed class LayerFactorAccumulator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _inputScratch = [];
    private T[] _onesScratch = [];
    private T[] _gradientScratch = [];
    private int _inputRows, _inputCols, _onesCols, _gradientRows, _gradientCols;

    /// <summary>The shape of the last accumulated batch.</summary>
    public KfacBatchShape LastShape { get; private set; }

    /// <summary>The formatted inputs of the last call without the ones column (empty when no weight-only block needed them).</summary>
    public ReadOnlySpan2D<T> InputRows => new(_inputScratch, 0, _inputRows, _inputCols, 0);

    /// <summary>The formatted inputs of the last call with the ones column (empty when no joint block needed them).</summary>
    public ReadOnlySpan2D<T> InputRowsWithOnes => new(_onesScratch, 0, _onesCols == 0 ? 0 : _inputRows, _onesCols, 0);

    /// <summary>The formatted output gradients of the last call.</summary>
    public ReadOnlySpan2D<T> GradientRows => new(_gradientScratch, 0, _gradientRows, _gradientCols, 0);

    /// <summary>Validates a batch without changing anything; returns its shape.</summary>
    /// <exception cref="ArgumentException">Shapes do not match the layer, the batch is empty, or a value is not finite.</exception>
    public static KfacBatchShape Validate(LayerSpec layer, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, bool forwardOnly)
    {
        var shape = KfacWeightSharing.Describe(layer, inputShape, forwardOnly ? [] : gradientShape);
        if (!forwardOnly && shape.Vectors == 0)
        {
            throw new ArgumentException("Output gradients are required (their shape is empty).", nameof(gradientShape));
        }

        EnsureLength(input.Length, inputShape, nameof(input), "input");
        if (!FactorMath.AllFinite(input))
        {
            throw new ArgumentException($"The input of layer '{layer.Name}' contains NaN or infinity.", nameof(input));
        }

        if (!forwardOnly)
        {
            EnsureLength(gradients.Length, gradientShape, nameof(gradients), "gradients");
            if (!FactorMath.AllFinite(gradients))
            {
                throw new ArgumentException($"The output gradients of layer '{layer.Name}' contain NaN or infinity.", nameof(gradients));
            }
        }

        return shape;
    }

    /// <summary>
    /// Adds one validated batch to the factors of <paramref name="blocks"/> (the blocks of one layer). Nothing can fail
    /// after <see cref="Validate"/> succeeded for the same arguments.
    /// </summary>
    /// <param name="backend">The dense kernels.</param>
    /// <param name="layer">The layer.</param>
    /// <param name="blocks">The layer's blocks.</param>
    /// <param name="shape">From <see cref="Validate"/>.</param>
    /// <param name="input">The raw input.</param>
    /// <param name="gradients">The raw gradients (ignored for the forward-only Fisher).</param>
    /// <param name="numData">N of the scaling: the data-set size (builder) or the batch size (optimizers).</param>
    /// <param name="reduction">The loss reduction the gradients come from.</param>
    /// <param name="lossTermsPerExample">P.</param>
    /// <param name="approximation">Expand or reduce.</param>
    /// <param name="forwardOnly">True for the forward-only Fisher (no gradient factor update).</param>
    /// <param name="formatAll">True to format the plain inputs even when no weight-only block needs them (EKFAC reads them).</param>
    public void Accumulate(
        CurvatureBackend backend, LayerSpec layer, ReadOnlySpan<KfacBlock<T>> blocks, KfacBatchShape shape, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients,
        int numData, LossReduction reduction, int lossTermsPerExample, WeightSharing approximation, bool forwardOnly, bool formatAll = false)
    {
        LastShape = shape;
        int inputRows = KfacWeightSharing.InputRows(shape, approximation);
        int sharing = approximation == WeightSharing.Expand ? shape.SharedPositions : 1;
        T inputScale = T.One / T.CreateChecked((double)numData * sharing);
        T gradientScale = T.CreateChecked(KfacFactorBuilder<T>.LossCorrection(reduction, shape.BatchSize, lossTermsPerExample, numData));
        int d = layer.WeightInputSize;
        bool needPlain = formatAll, needOnes = false;
        foreach (var b in blocks)
        {
            needPlain |= b.Layout.Parameters == KfacBlockParameters.Weight;
            needOnes |= b.Layout.Parameters == KfacBlockParameters.WeightAndBias;
        }

        _inputRows = inputRows;
        _inputCols = needPlain ? d : 0;
        _onesCols = needOnes ? d + 1 : 0;
        Span2D<T> x = default, xOnes = default, g = default;
        if (needPlain)
        {
            x = Buffer(ref _inputScratch, inputRows, d);
            KfacWeightSharing.FormatInputs(layer, input, shape, approximation, false, x);
        }

        if (needOnes)
        {
            xOnes = Buffer(ref _onesScratch, inputRows, d + 1);
            KfacWeightSharing.FormatInputs(layer, input, shape, approximation, true, xOnes);
        }

        _gradientRows = 0;
        _gradientCols = layer.OutputSize;
        if (!forwardOnly)
        {
            _gradientRows = KfacWeightSharing.GradientRows(shape, approximation);
            g = Buffer(ref _gradientScratch, _gradientRows, layer.OutputSize);
            KfacWeightSharing.FormatGradients(layer, gradients, shape, approximation, g);
        }

        foreach (var b in blocks)
        {
            if (b.Layout.HasInputFactor)
            {
                b.AccumulateInputCovariance(backend, b.Layout.AppendsOnes ? xOnes : x, inputScale);
            }

            if (!forwardOnly)
            {
                b.AccumulateGradientCovariance(backend, g, gradientScale);
            }
        }
    }

    private static void EnsureLength(int length, ReadOnlySpan<int> shape, string parameter, string what)
    {
        long expected = 1;
        foreach (int dim in shape)
        {
            expected *= dim;
        }

        if (length != expected)
        {
            throw new ArgumentException($"The {what} hold {length} values but the shape says {expected}.", parameter);
        }
    }

    private static Span2D<T> Buffer(ref T[] storage, int rows, int cols)
    {
        int needed = rows * cols;
        if (storage.Length < needed)
        {
            storage = new T[needed];
        }

        return new Span2D<T>(storage, 0, rows, cols, 0);
    }
}
