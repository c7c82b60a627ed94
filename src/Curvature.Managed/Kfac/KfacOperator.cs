using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac.Internals;
using Curvature.Operators;
using Curvature.Internals;

namespace Curvature.Kfac;

/// <summary>
/// curvlinops' <c>KFACLinearOperator</c>: the block-diagonal matrix over a model's parameters whose blocks are
/// <c>G_i ⊗ A_i</c> in the order of <see cref="ModelSpec.Blocks"/>, acting on the flat parameter vector
/// (parameters in <c>named_parameters()</c> order; within a joint block the bias is the last column of <c>[W | b]</c>).
/// </summary>
/// <remarks>
/// The operator views the blocks' factors (it does not copy them). Products use BLAS <c>?GEMM</c> through the backend;
/// the log-determinant uses <c>?SYEVD</c>. After a first call with K columns, <see cref="Multiply"/> and
/// <see cref="Apply"/> with at most K columns allocate nothing. Not thread-safe (shared scratch): a call from a second thread while another is in progress throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class KfacOperator<T> : ILinearOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly KfacBlock<T>[] _blocks;
    private readonly BlockWorkspace<T> _workspace;
    private readonly SingleCallerGuard _guard = new();

    /// <summary>Creates the operator over <paramref name="blocks"/> (one per <see cref="ModelSpec.Blocks"/> entry, same order).</summary>
    public KfacOperator(CurvatureBackend backend, ModelSpec model, IReadOnlyList<KfacBlock<T>> blocks)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(model);
        model.EnsureOperatorCompatible("The K-FAC operator");
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count != model.Blocks.Count)
        {
            throw new ArgumentException($"The model has {model.Blocks.Count} blocks, but {blocks.Count} were given.", nameof(blocks));
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Layout.OutputSize != model.Blocks[i].OutputSize || blocks[i].Layout.InputSize != model.Blocks[i].InputSize
                || blocks[i].Layout.Parameters != model.Blocks[i].Parameters || blocks[i].Layout.LayerIndex != model.Blocks[i].LayerIndex)
            {
                throw new ArgumentException($"Block {i} does not match the model's block {model.Blocks[i]}.", nameof(blocks));
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
    public IReadOnlyList<KfacBlock<T>> Blocks => _blocks;

    /// <inheritdoc />
    public int Dimension => Model.Dimension;

    /// <summary><c>destination = K · source</c> for a matrix with K columns (rows = flat parameter index).</summary>
    /// <exception cref="ArgumentException">Shapes do not match, the destination overlaps the source, or the product of a
    /// finite source overflows (the destination's content is then unspecified).</exception>
    public void Multiply(ReadOnlySpan2D<T> source, Span2D<T> destination)
    {
        using var busy = _guard.Enter(this);
        BlockProducts.ValidateMatrices(Dimension, source, destination);
        int k = source.Width;
        _workspace.Ensure(k);
        foreach (var block in _blocks)
        {
            var layout = block.Layout;
            var g = KroneckerKernels.ReadOnlyView(block.GradientStorage, layout.OutputSize, layout.OutputSize);
            if (!layout.HasInputFactor)
            {
                Backend.MatrixMultiply(g, Transpose.None, source.Slice(layout.BiasOffset, 0, layout.OutputSize, k), Transpose.None,
                    destination.Slice(layout.BiasOffset, 0, layout.OutputSize, k), T.One, T.Zero);
                continue;
            }

            var packed = _workspace.Packed(k * layout.OutputSize, layout.InputSize);
            var scratch = _workspace.Scratch(k * layout.OutputSize, layout.InputSize);
            KroneckerKernels.Gather(layout, source, packed);
            KroneckerKernels.Sandwich(Backend, g, false, KroneckerKernels.ReadOnlyView(block.InputStorage, layout.InputSize, layout.InputSize), false, packed, scratch, k);
            KroneckerKernels.Scatter(layout, packed, destination);
        }

        BlockProducts.EnsureFiniteProduct(source, destination);
    }

    /// <inheritdoc />
    public void Apply(ReadOnlySpan<T> source, Span<T> destination) =>
        Multiply(BlockProducts.AsColumn(source, Dimension, nameof(source)), BlockProducts.AsColumn(destination, Dimension, nameof(destination)));

    /// <summary><c>tr K = Σ_i tr(G_i)·tr(A_i)</c> (bias-only blocks: tr G).</summary>
    public T Trace()
    {
        T total = T.Zero;
        foreach (var b in _blocks)
        {
            T t = FactorMath.Trace<T>(b.GradientStorage, b.Layout.OutputSize);
            if (b.Layout.HasInputFactor)
            {
                t *= FactorMath.Trace<T>(b.InputStorage, b.Layout.InputSize);
            }

            total += t;
        }

        return total;
    }

    /// <summary><c>‖K‖_F = √(Σ_i ‖G_i‖²_F·‖A_i‖²_F)</c>.</summary>
    public T FrobeniusNorm()
    {
        T total = T.Zero;
        foreach (var b in _blocks)
        {
            T s = FactorMath.SumOfSquares<T>(b.GradientStorage);
            if (b.Layout.HasInputFactor)
            {
                s *= FactorMath.SumOfSquares<T>(b.InputStorage);
            }

            total += s;
        }

        return T.Sqrt(total);
    }

    /// <summary>
    /// <c>log det K = Σ_i (d_A·log det G_i + d_G·log det A_i)</c> (bias-only blocks: log det G), from the factors' eigenvalues
    /// (LAPACK <c>?SYEVD</c>). A singular factor gives −∞ and an indefinite one NaN; the value is only meaningful
    /// when every factor is well conditioned.
    /// </summary>
    public T LogDeterminant()
    {
        using var busy = _guard.Enter(this);
        T total = T.Zero;
        foreach (var b in _blocks)
        {
            int dG = b.Layout.OutputSize, dA = b.Layout.InputSize;
            T logG = LogDet(b.GradientStorage, dG);
            if (b.Layout.HasInputFactor)
            {
                total += (T.CreateChecked(dA) * logG) + (T.CreateChecked(dG) * LogDet(b.InputStorage, dA));
            }
            else
            {
                total += logG;
            }
        }

        return total;
    }

    /// <summary><c>det K = exp(log det K)</c> (see <see cref="LogDeterminant"/>).</summary>
    public T Determinant() => T.Exp(LogDeterminant());

    /// <summary>The damped inverse (curvlinops' <c>inverse(damping, use_heuristic_damping, min_damping, use_exact_damping)</c>),
    /// computed now from the current factors: two Cholesky inverses (or, for exact damping, two eigendecompositions) per block.</summary>
    /// <param name="options">The damping.</param>
    /// <param name="cancellationToken">Cancels the computation between kernel calls.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped factor is not positive definite (also after the float64 retry).</exception>
    /// <exception cref="EigenDecompositionFailedException">Exact damping: an eigendecomposition did not converge.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public KfacInverseOperator<T> Inverse(KfacInverseOptions options, CancellationToken cancellationToken = default) => new(this, options, cancellationToken);

    /// <summary>Writes the dense matrix (Dimension × Dimension) into <paramref name="destination"/> (for tests).</summary>
    public void ToDense(Span2D<T> destination) => BlockProducts.ToDense(Dimension, Multiply, destination);

    /// <summary>Returns the dense matrix as a new row-major array (for tests).</summary>
    public T[] ToDense()
    {
        var result = new T[Dimension * Dimension];
        ToDense(new Span2D<T>(result, Dimension, Dimension));
        return result;
    }

    private T LogDet(Curvature.Internals.AlignedBuffer<T> factor, int n)
    {
        var copy = (T[])factor.Clone();
        var values = new T[n];
        Backend.SymmetricEigen(new Span2D<T>(copy, n, n), Triangle.Lower, values);
        T sum = T.Zero;
        foreach (var v in values)
        {
            sum += T.Log(v);
        }

        return sum;
    }
}
