using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Ekfac.Internals;
using Curvature.Kfac;
using Curvature.Kfac.Internals;
using Curvature.Operators;
using Curvature.Serialization;
using Curvature.Internals;

namespace Curvature.Ekfac;

/// <summary>
/// curvlinops' <c>EKFACLinearOperator</c>: the block-diagonal matrix whose blocks are
/// <c>(Q_G ⊗ Q_A) diag(vec_row λ) (Q_G ⊗ Q_A)ᵀ</c>, i.e. <c>Y = Q_G (λ ∘ (Q_Gᵀ V Q_A)) Q_Aᵀ</c> per block (bias-only:
/// <c>Q_G (λ ∘ Q_Gᵀ b)</c>), over the flat parameter vector with K-FAC's block order and parameter mapping.
/// </summary>
/// <remarks>
/// The operator views its blocks. Products use BLAS <c>?GEMM</c> (four per block and column batch); after a first
/// call with K columns, <see cref="Multiply"/> and <see cref="Apply"/> with at most K columns allocate nothing.
/// Not thread-safe (shared scratch): a call from a second thread while another is in progress throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class EkfacOperator<T> : ILinearOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The checkpoint kind written by <see cref="Save"/>.</summary>
    public const string CheckpointKind = "Curvature.Ekfac";

    private const int SchemaVersion = 1;
    private readonly EkfacBlock<T>[] _blocks;
    private readonly BlockWorkspace<T> _workspace;
    private readonly SingleCallerGuard _guard = new();

    /// <summary>Creates the operator over <paramref name="blocks"/> (one per <see cref="ModelSpec.Blocks"/> entry, same order).</summary>
    /// <exception cref="ArgumentException">The blocks do not match the model.</exception>
    public EkfacOperator(CurvatureBackend backend, ModelSpec model, IReadOnlyList<EkfacBlock<T>> blocks)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(model);
        model.EnsureOperatorCompatible("The EKFAC operator");
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count != model.Blocks.Count)
        {
            throw new ArgumentException($"The model has {model.Blocks.Count} blocks, but {blocks.Count} were given.", nameof(blocks));
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            var a = blocks[i].Layout;
            var b = model.Blocks[i];
            if (a.OutputSize != b.OutputSize || a.InputSize != b.InputSize || a.Parameters != b.Parameters || a.LayerIndex != b.LayerIndex
                || a.WeightOffset != b.WeightOffset || a.BiasOffset != b.BiasOffset)
            {
                throw new ArgumentException($"Block {i} does not match the model's block {b}.", nameof(blocks));
            }
        }

        Backend = backend;
        Model = model;
        _blocks = [.. blocks];
        _workspace = new BlockWorkspace<T>(model.Blocks);
    }

    /// <summary>The backend used for dense products.</summary>
    public CurvatureBackend Backend { get; }

    /// <summary>The model structure (parameter layout, block order).</summary>
    public ModelSpec Model { get; }

    /// <summary>The blocks in block order.</summary>
    public IReadOnlyList<EkfacBlock<T>> Blocks => _blocks;

    /// <inheritdoc />
    public int Dimension => Model.Dimension;

    /// <summary><c>destination = EKFAC · source</c> for a matrix with K columns (rows = flat parameter index).</summary>
    /// <exception cref="ArgumentException">Shapes do not match, the destination overlaps the source, or the product of a
    /// finite source overflows (the destination's content is then unspecified).</exception>
    public void Multiply(ReadOnlySpan2D<T> source, Span2D<T> destination)
    {
        BlockProducts.ValidateMatrices(Dimension, source, destination);
        MultiplyCore(source, destination, false, T.Zero);
    }

    /// <inheritdoc />
    public void Apply(ReadOnlySpan<T> source, Span<T> destination) =>
        Multiply(BlockProducts.AsColumn(source, Dimension, nameof(source)), BlockProducts.AsColumn(destination, Dimension, nameof(destination)));

    /// <summary><c>tr = Σ λ</c>.</summary>
    public T Trace()
    {
        T total = T.Zero;
        foreach (var b in _blocks)
        {
            foreach (T l in b.CorrectedStorage)
            {
                total += l;
            }
        }

        return total;
    }

    /// <summary><c>‖·‖_F = √(Σ λ²)</c>.</summary>
    public T FrobeniusNorm()
    {
        T total = T.Zero;
        foreach (var b in _blocks)
        {
            total += FactorMath.SumOfSquares<T>(b.CorrectedStorage);
        }

        return T.Sqrt(total);
    }

    /// <summary><c>log det = Σ log λ</c> (−∞ when some λ = 0: the value is meaningful only when every λ &gt; 0).</summary>
    public T LogDeterminant()
    {
        T total = T.Zero;
        foreach (var b in _blocks)
        {
            foreach (T l in b.CorrectedStorage)
            {
                total += T.Log(l);
            }
        }

        return total;
    }

    /// <summary><c>det = Π λ</c>, computed as <c>exp(Σ log λ)</c>.</summary>
    public T Determinant() => T.Exp(LogDeterminant());

    /// <summary>The damped inverse <c>Y = Q_G ((Q_Gᵀ V Q_A) / (λ + δ)) Q_Aᵀ</c> (curvlinops' <c>inverse(damping)</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">δ is negative or not finite.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">Some <c>λ + δ ≤ 0</c> (singular or indefinite).</exception>
    public EkfacInverseOperator<T> Inverse(double damping) => new(this, damping);

    /// <summary>Writes the dense matrix (Dimension × Dimension) into <paramref name="destination"/> (for tests).</summary>
    public void ToDense(Span2D<T> destination) => BlockProducts.ToDense(Dimension, Multiply, destination);

    /// <summary>Returns the dense matrix as a new row-major array (for tests).</summary>
    public T[] ToDense()
    {
        var result = new T[Dimension * Dimension];
        ToDense(new Span2D<T>(result, Dimension, Dimension));
        return result;
    }

    /// <summary>
    /// Saves the state (curvlinops' <c>state_dict</c>): per block its layer name, parameter kind and sizes, the factors,
    /// eigenvectors, factor eigenvalues and corrected eigenvalues, in the CRC-checked checkpoint format.
    /// </summary>
    public void Save(Stream destination)
    {
        using var busy = _guard.Enter(this);
        var w = new CheckpointWriter(destination, CheckpointKind, SchemaVersion);
        w.WriteInt32("blocks", _blocks.Length);
        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            string p = $"block{i}.";
            w.WriteString(p + "layer", b.Layout.Layer.Name);
            w.WriteInt32(p + "parameters", (int)b.Layout.Parameters);
            w.WriteInt32s(p + "shape", [b.Layout.OutputSize, b.Layout.InputSize]);
            w.WriteValues<T>(p + "gradient_covariance", b.GradientCovarianceStorage);
            w.WriteValues<T>(p + "input_covariance", b.InputCovarianceStorage);
            w.WriteValues<T>(p + "gradient_eigenvectors", b.GradientEigenvectorStorage);
            w.WriteValues<T>(p + "input_eigenvectors", b.InputEigenvectorStorage);
            w.WriteValues<T>(p + "gradient_eigenvalues", b.GradientEigenvalueStorage);
            w.WriteValues<T>(p + "input_eigenvalues", b.InputEigenvalueStorage);
            w.WriteValues<T>(p + "corrected_eigenvalues", b.CorrectedStorage);
        }

        w.Complete();
    }

    /// <summary>
    /// Restores a state written by <see cref="Save"/> (curvlinops' <c>load_state_dict</c>). Everything is read and checked
    /// against this operator's blocks (count, layer names, parameter kinds, shapes, finite values) before any block changes.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, of another kind or element type, or its blocks do
    /// not match this operator's; the state is untouched.</exception>
    public void Load(Stream source)
    {
        using var busy = _guard.Enter(this);
        var r = CheckpointReader.Open(source, CheckpointKind, SchemaVersion);
        int count = r.ReadInt32("blocks");
        if (count != _blocks.Length)
        {
            throw new CheckpointFormatException($"The checkpoint holds {count} EKFAC blocks; this operator has {_blocks.Length}.");
        }

        var staged = new T[_blocks.Length][][];
        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            string p = $"block{i}.";
            string layer = r.ReadString(p + "layer");
            int kind = r.ReadInt32(p + "parameters");
            int[] shape = r.ReadInt32s(p + "shape");
            if (layer != b.Layout.Layer.Name || kind != (int)b.Layout.Parameters || shape.Length != 2
                || shape[0] != b.Layout.OutputSize || shape[1] != b.Layout.InputSize)
            {
                throw new CheckpointFormatException(
                    $"Checkpoint block {i} is layer '{layer}' ({(KfacBlockParameters)kind}, [{string.Join(", ", shape)}]); this operator's block {i} is '{b.Layout.Layer.Name}' ({b.Layout.Parameters}, [{b.Layout.OutputSize}, {b.Layout.InputSize}]).");
            }

            int dOut = b.Layout.OutputSize, dIn = b.Layout.InputSize;
            staged[i] =
            [
                r.ReadValues<T>(p + "gradient_covariance", dOut * dOut),
                r.ReadValues<T>(p + "input_covariance", dIn * dIn),
                r.ReadValues<T>(p + "gradient_eigenvectors", dOut * dOut),
                r.ReadValues<T>(p + "input_eigenvectors", dIn * dIn),
                r.ReadValues<T>(p + "gradient_eigenvalues", dOut),
                r.ReadValues<T>(p + "input_eigenvalues", dIn),
                r.ReadValues<T>(p + "corrected_eigenvalues", dOut * b.Layout.Columns),
            ];
            foreach (var arr in staged[i])
            {
                if (!FactorMath.AllFinite<T>(arr))
                {
                    throw new CheckpointFormatException($"Checkpoint block {i} ('{layer}') holds NaN or infinity.");
                }
            }
        }

        r.EnsureAtEnd();
        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            Memory<T>[] targets =
            [
                b.GradientCovarianceStorage.Memory, b.InputCovarianceStorage.Memory, b.GradientEigenvectorStorage.Memory, b.InputEigenvectorStorage.Memory,
                b.GradientEigenvalueStorage, b.InputEigenvalueStorage, b.CorrectedStorage,
            ];
            for (int j = 0; j < targets.Length; j++)
            {
                staged[i][j].CopyTo(targets[j].Span);
            }
        }
    }

    /// <summary>Shared by the operator and its inverse: scales the rotated coefficients by λ, or by 1/(λ + δ).</summary>
    internal void MultiplyCore(ReadOnlySpan2D<T> source, Span2D<T> destination, bool inverse, T damping)
    {
        using var busy = _guard.Enter(this);
        int k = source.Width;
        _workspace.Ensure(k);
        foreach (var block in _blocks)
        {
            var layout = block.Layout;
            int dOut = layout.OutputSize;
            var qg = KroneckerKernels.ReadOnlyView(block.GradientEigenvectorStorage, dOut, dOut);
            var lambda = block.CorrectedStorage;
            if (!layout.HasInputFactor)
            {
                var rotated = _workspace.Scratch(dOut, k);
                Backend.MatrixMultiply(qg, Transpose.Transpose, source.Slice(layout.BiasOffset, 0, dOut, k), Transpose.None, rotated, T.One, T.Zero);
                for (int i = 0; i < dOut; i++)
                {
                    T f = inverse ? T.One / (lambda[i] + damping) : lambda[i];
                    Span<T> row = rotated.GetRowSpan(i);
                    for (int c = 0; c < k; c++)
                    {
                        row[c] *= f;
                    }
                }

                Backend.MatrixMultiply<T>(qg, Transpose.None, rotated, Transpose.None, destination.Slice(layout.BiasOffset, 0, dOut, k), T.One, T.Zero);
                continue;
            }

            int dIn = layout.InputSize;
            var qa = KroneckerKernels.ReadOnlyView(block.InputEigenvectorStorage, dIn, dIn);
            var packed = _workspace.Packed(k * dOut, dIn);
            var scratch = _workspace.Scratch(k * dOut, dIn);
            KroneckerKernels.Gather(layout, source, packed);
            KroneckerKernels.Sandwich(Backend, qg, true, qa, true, packed, scratch, k);
            for (int c = 0; c < k; c++)
            {
                for (int i = 0; i < dOut; i++)
                {
                    Span<T> row = packed.GetRowSpan((c * dOut) + i);
                    ReadOnlySpan<T> l = lambda.AsSpan(i * dIn, dIn);
                    for (int j = 0; j < dIn; j++)
                    {
                        row[j] = inverse ? row[j] / (l[j] + damping) : row[j] * l[j];
                    }
                }
            }

            KroneckerKernels.Sandwich(Backend, qg, false, qa, false, packed, scratch, k);
            KroneckerKernels.Scatter(layout, packed, destination);
        }

        BlockProducts.EnsureFiniteProduct(source, destination);
    }
}
