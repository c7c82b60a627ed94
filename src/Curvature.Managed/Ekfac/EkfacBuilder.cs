using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Ekfac.Internals;
using Curvature.Kfac;
using Curvature.Kfac.Internals;
using Curvature.Loss;
using Curvature.Internals;

namespace Curvature.Ekfac;

/// <summary>
/// Builds curvlinops' <c>EKFACLinearOperator</c> (George et al. 2018): takes the K-FAC factors of every
/// block (pass 1, <see cref="KfacFactorBuilder{T}"/>), computes their eigenbases, then accumulates the corrected
/// eigenvalues from the same per-batch layer inputs and output gradients (pass 2):
/// <c>λ = Σ_b κ_b Σ_v Σ_n (Q_Gᵀ Γ[v,n] Q_A)∘2</c> with the per-example gradients <c>Γ[v,n] = Σ_s g[v,n,s] x[n,s]ᵀ</c>
/// always in <b>expand</b> format (also when the factors use reduce), the ones feature for joint blocks, and
/// <c>(Q_Gᵀ Σ_s g[v,n,s])∘2</c> for bias-only blocks. κ_b is K-FAC's loss correction.
/// </summary>
/// <remarks>
/// Rotations and contractions are BLAS <c>?GEMM</c> through the backend, eigenbases LAPACK <c>?SYEVD</c>. Only models
/// with one loss term per example (2-D outputs, P = 1) are supported, as in curvlinops: the per-example gradients of
/// dependent loss terms are not separable. A rejected call leaves every λ untouched. Not thread-safe: a call from a second thread while another is in progress throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class EkfacBuilder<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly EkfacBlock<T>[] _blocks;
    private readonly Workspace<T> _workspace = new(4);
    private T[] _inputScratch = [];
    private T[] _onesScratch = [];
    private T[] _gradientScratch = [];
    private T[] _summedScratch = [];
    private readonly SingleCallerGuard _guard = new();

    /// <summary>Creates a builder with zero factors, identity eigenbases and zero corrections.</summary>
    /// <param name="backend">The backend for GEMM and SYEVD.</param>
    /// <param name="model">The model structure (blocks, parameter mapping as K-FAC).</param>
    /// <param name="options">The K-FAC options (N, reduction; <see cref="KfacOptions.Approximation"/> only affects the factors).</param>
    /// <param name="strategy">How weight-block corrections are evaluated (automatic by default).</param>
    /// <exception cref="NotSupportedException">More than one loss term per example, or the forward-only Fisher.</exception>
    public EkfacBuilder(CurvatureBackend backend, ModelSpec model, KfacOptions options, EkfacCorrectionStrategy strategy = EkfacCorrectionStrategy.Automatic)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(model);
        model.EnsureOperatorCompatible("The EKFAC builder");
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.LossTermsPerExample != 1)
        {
            throw new NotSupportedException(
                $"EKFAC needs one loss term per example (2-D model outputs), but P = {options.LossTermsPerExample}: per-example gradients of dependent loss terms are not separable (curvlinops: 'Only 2d output and 1d/2d target are supported for EKFAC').");
        }

        if (options.Fisher == FisherType.ForwardOnly)
        {
            throw new NotSupportedException("EKFAC needs output gradients; the forward-only Fisher has none.");
        }

        if (strategy is not (EkfacCorrectionStrategy.Automatic or EkfacCorrectionStrategy.Gramian or EkfacCorrectionStrategy.PerExampleGradients))
        {
            throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown strategy.");
        }

        _backend = backend;
        Model = model;
        Options = options;
        Strategy = strategy;
        _blocks = [.. model.Blocks.Select(b => new EkfacBlock<T>(b))];
    }

    /// <summary>The model structure.</summary>
    public ModelSpec Model { get; }

    /// <summary>The options (N, reduction, factor approximation).</summary>
    public KfacOptions Options { get; }

    /// <summary>The correction strategy.</summary>
    public EkfacCorrectionStrategy Strategy { get; }

    /// <summary>The blocks in block order.</summary>
    public IReadOnlyList<EkfacBlock<T>> Blocks => _blocks;

    /// <summary>
    /// Takes the factors of <paramref name="factors"/> (same model), computes every block's eigenbasis
    /// (<c>?SYEVD</c>) and clears the corrections. All decompositions finish before any block changes.
    /// </summary>
    /// <param name="factors">The K-FAC factors of the same model structure.</param>
    /// <param name="cancellationToken">Checked before each eigendecomposition; a cancelled call changes nothing.</param>
    /// <exception cref="EigenDecompositionFailedException">The eigensolver did not converge (nothing changed).</exception>
    /// <exception cref="ArgumentException">The factor builder belongs to another model structure.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (nothing changed).</exception>
    public void SetFactors(KfacFactorBuilder<T> factors, CancellationToken cancellationToken = default)
    {
        using var busy = _guard.Enter(this);
        ArgumentNullException.ThrowIfNull(factors);
        if (factors.Blocks.Count != _blocks.Length)
        {
            throw new ArgumentException($"The factors have {factors.Blocks.Count} blocks; the EKFAC model has {_blocks.Length}.", nameof(factors));
        }

        for (int i = 0; i < _blocks.Length; i++)
        {
            var a = factors.Blocks[i].Layout;
            var b = _blocks[i].Layout;
            if (a.OutputSize != b.OutputSize || a.InputSize != b.InputSize || a.Parameters != b.Parameters || a.Layer.Name != b.Layer.Name)
            {
                throw new ArgumentException($"Factor block {i} ({a}) does not match EKFAC block {b}.", nameof(factors));
            }
        }

        var bases = new FactorEigenbasis<T>[_blocks.Length];
        for (int i = 0; i < _blocks.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bases[i] = _blocks[i].Decompose(_backend, factors.Blocks[i].GradientStorage, factors.Blocks[i].InputStorage, cancellationToken);
        }

        for (int i = 0; i < _blocks.Length; i++)
        {
            _blocks[i].Commit(factors.Blocks[i].GradientStorage, factors.Blocks[i].InputStorage, bases[i]);
        }

        ResetCorrections();
    }

    /// <summary>Recomputes every block's eigenbasis from its current factors and clears the corrections.</summary>
    /// <remarks>All decompositions (LAPACK <c>?SYEVD</c>) finish before any block changes: a failure or a cancellation
    /// changes nothing.</remarks>
    /// <param name="cancellationToken">Checked before each eigendecomposition.</param>
    /// <exception cref="EigenDecompositionFailedException">The eigensolver did not converge.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public void ComputeEigenbases(CancellationToken cancellationToken = default)
    {
        using var busy = _guard.Enter(this);
        var bases = new FactorEigenbasis<T>[_blocks.Length];
        for (int i = 0; i < _blocks.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bases[i] = _blocks[i].Decompose(_backend, _blocks[i].GradientCovarianceStorage, _blocks[i].InputCovarianceStorage, cancellationToken);
        }

        for (int i = 0; i < _blocks.Length; i++)
        {
            _blocks[i].Commit(_blocks[i].GradientCovarianceStorage, _blocks[i].InputCovarianceStorage, bases[i]);
        }

        ResetCorrections();
    }

    /// <summary>Sets every corrected eigenvalue to zero (before a new pass 2).</summary>
    public void ResetCorrections()
    {
        using var busy = _guard.Enter(this);
        foreach (var b in _blocks)
        {
            b.ClearCorrections();
        }
    }

    /// <summary>Adds one batch of one layer to the corrected eigenvalues of every block of that layer (pass 2).</summary>
    /// <param name="layerIndex">Index of the layer in <see cref="ModelSpec.Layers"/>.</param>
    /// <param name="input">The layer input <c>a</c>, row-major.</param>
    /// <param name="inputShape">Shape of <c>a</c>: <c>[N_b, D_in]</c>, <c>[N_b, S…, D_in]</c> or <c>[N_b, C_in, H, W]</c>.</param>
    /// <param name="gradients">The output gradients <c>g</c>, row-major.</param>
    /// <param name="gradientShape">Shape of <c>g</c>: <c>[V, N_b, S…, D_out]</c> or <c>[V, N_b, C_out, OH, OW]</c>.</param>
    /// <exception cref="ArgumentException">Shapes do not match, the batch is empty, or a value is not finite; nothing changed.</exception>
    public void AccumulateLayer(int layerIndex, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape)
    {
        using var busy = _guard.Enter(this);
        ArgumentOutOfRangeException.ThrowIfNegative(layerIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layerIndex, Model.Layers.Count);
        var layer = Model.Layers[layerIndex];
        var shape = KfacWeightSharing.Describe(layer, inputShape, gradientShape);
        if (shape.Vectors == 0)
        {
            throw new ArgumentException("Output gradients are required (their shape is empty).", nameof(gradientShape));
        }

        if (input.Length != Product(inputShape))
        {
            throw new ArgumentException($"The input holds {input.Length} values but its shape says {Product(inputShape)}.", nameof(input));
        }

        if (gradients.Length != Product(gradientShape))
        {
            throw new ArgumentException($"The gradients hold {gradients.Length} values but their shape says {Product(gradientShape)}.", nameof(gradients));
        }

        if (!FactorMath.AllFinite(input))
        {
            throw new ArgumentException($"The input of layer '{layer.Name}' contains NaN or infinity.", nameof(input));
        }

        if (!FactorMath.AllFinite(gradients))
        {
            throw new ArgumentException($"The output gradients of layer '{layer.Name}' contain NaN or infinity.", nameof(gradients));
        }

        // Validated: from here on nothing can fail.
        const WeightSharing expand = WeightSharing.Expand;
        int n = shape.BatchSize, s = shape.SharedPositions, v = shape.Vectors, d = layer.WeightInputSize;
        T scale = T.CreateChecked(KfacFactorBuilder<T>.LossCorrection(Options.Reduction, n, Options.LossTermsPerExample, Options.NumData));
        Span2D<T> x = default, xOnes = default, g = default, gSum = default;
        foreach (var b in _blocks)
        {
            if (b.Layout.LayerIndex != layerIndex)
            {
                continue;
            }

            var layout = b.Layout;
            if (!layout.HasInputFactor)
            {
                if (gSum.IsEmpty)
                {
                    gSum = Buffer(ref _summedScratch, v * n, layout.OutputSize);
                    KfacWeightSharing.FormatGradients(layer, gradients, shape, WeightSharing.Reduce, gSum);
                }

                EigenvalueCorrection.AccumulateBias(_backend, gSum, Square(b.GradientEigenvectorStorage, layout.OutputSize), b.CorrectedStorage, scale, _workspace);
                continue;
            }

            if (g.IsEmpty)
            {
                g = Buffer(ref _gradientScratch, KfacWeightSharing.GradientRows(shape, expand), layout.OutputSize);
                KfacWeightSharing.FormatGradients(layer, gradients, shape, expand, g);
            }

            Span2D<T> rows;
            if (layout.AppendsOnes)
            {
                if (xOnes.IsEmpty)
                {
                    xOnes = Buffer(ref _onesScratch, n * s, d + 1);
                    KfacWeightSharing.FormatInputs(layer, input, shape, expand, true, xOnes);
                }

                rows = xOnes;
            }
            else
            {
                if (x.IsEmpty)
                {
                    x = Buffer(ref _inputScratch, n * s, d);
                    KfacWeightSharing.FormatInputs(layer, input, shape, expand, false, x);
                }

                rows = x;
            }

            bool gramian = EigenvalueCorrection.UseGramian(Strategy, s, layout.OutputSize, layout.InputSize);
            EigenvalueCorrection.AccumulateWeight(_backend, rows, g, n, s, v,
                Square(b.GradientEigenvectorStorage, layout.OutputSize), Square(b.InputEigenvectorStorage, layout.InputSize),
                new Span2D<T>(b.CorrectedStorage, layout.OutputSize, layout.InputSize), scale, gramian, _workspace);
        }
    }

    /// <summary>Adds one batch of the layer named <paramref name="layerName"/>; see <see cref="AccumulateLayer(int, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/>.</summary>
    public void AccumulateLayer(string layerName, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape) =>
        AccumulateLayer(Model.LayerIndex(layerName), input, inputShape, gradients, gradientShape);

    /// <summary>The EKFAC operator over the current blocks (it views them: later changes show through).</summary>
    public EkfacOperator<T> ToOperator() => new(_backend, Model, _blocks);

    /// <summary>
    /// Both passes over a data set: the K-FAC factors, the eigenbases, then the corrected eigenvalues (the batches are
    /// enumerated twice and must yield the same data, as curvlinops' re-seeded second pass does).
    /// </summary>
    /// <param name="backend">The backend.</param>
    /// <param name="model">The model structure.</param>
    /// <param name="options">The K-FAC options.</param>
    /// <param name="batches">Per batch, the data of every layer.</param>
    /// <param name="progress">Receives one report per finished batch and pass (optional).</param>
    /// <param name="strategy">The correction strategy.</param>
    /// <param name="cancellationToken">Checked between layers, batches and eigendecompositions; a cancelled call returns
    /// nothing and changes nothing (the operator is built from scratch).</param>
    /// <returns>The operator (owning its blocks).</returns>
    /// <exception cref="ArgumentException">The data set holds no batches, or a batch is invalid.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static EkfacOperator<T> Compute(
        CurvatureBackend backend, ModelSpec model, KfacOptions options, IEnumerable<IReadOnlyList<EkfacLayerData<T>>> batches,
        IProgress<EkfacProgress>? progress = null, EkfacCorrectionStrategy strategy = EkfacCorrectionStrategy.Automatic,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var ekfac = new EkfacBuilder<T>(backend, model, options, strategy);
        var factors = new KfacFactorBuilder<T>(backend, model, options);
        int count = 0;
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var l in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                factors.AccumulateLayer(l.LayerName, l.Input, l.InputShape, l.Gradients, l.GradientShape);
            }

            count++;
            progress?.Report(new EkfacProgress(EkfacPhase.Factors, count));
        }

        if (count == 0)
        {
            throw new ArgumentException("The data set holds no batches.", nameof(batches));
        }

        ekfac.SetFactors(factors, cancellationToken);
        count = 0;
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var l in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ekfac.AccumulateLayer(l.LayerName, l.Input, l.InputShape, l.Gradients, l.GradientShape);
            }

            count++;
            progress?.Report(new EkfacProgress(EkfacPhase.Corrections, count));
        }

        return ekfac.ToOperator();
    }

    private static long Product(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (int d in shape)
        {
            p *= d;
        }

        return p;
    }

    private static ReadOnlySpan2D<T> Square(Curvature.Internals.AlignedBuffer<T> storage, int n) => storage.AsReadOnlySpan2D(n, n);

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
