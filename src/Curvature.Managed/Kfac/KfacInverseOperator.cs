using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac.Internals;
using Curvature.Operators;
using Curvature.Internals;

namespace Curvature.Kfac;

/// <summary>
/// The damped inverse of a <see cref="KfacOperator{T}"/>, block by block (curvlinops' <c>inverse</c>):
/// plain <c>(G + δI)⁻¹ V (A + δI)⁻¹</c>; π-heuristic with per-factor dampings (<see cref="FactorDamping.For"/>);
/// trace-scaled (<see cref="DampingMode.TraceScaled"/>); exact <c>(G ⊗ A + δI)⁻¹ = U_G((U_Gᵀ V U_A) ./ (g_i a_j + δ))U_Aᵀ</c>.
/// </summary>
/// <remarks>
/// The inverses are computed once, at construction, from the factors as they are then (LAPACK <c>?POTRF</c> +
/// <c>?POTRI</c>, float32 failures retried in float64 without allocation; or <c>?SYEVD</c> for exact damping);
/// <see cref="Recompute"/> refreshes them. Products use BLAS <c>?GEMM</c>. Not thread-safe: a call from a second thread while another is in progress throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class KfacInverseOperator<T> : ILinearOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly KfacOperator<T> _operator;
    private readonly KroneckerBlockInverse<T>[] _inverses;
    private readonly string[] _contexts;
    private readonly BlockWorkspace<T> _workspace;
    private readonly SingleCallerGuard _guard = new();

    internal KfacInverseOperator(KfacOperator<T> op, KfacInverseOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _operator = op;
        Options = options;
        _inverses = [.. op.Blocks.Select(b => new KroneckerBlockInverse<T>(b.Layout.OutputSize, b.Layout.InputSize))];
        _contexts = [.. op.Blocks.Select((b, i) => $"block {i} ({b.Layout.Layer.Name}, {b.Layout.Parameters})")];
        _workspace = new BlockWorkspace<T>(op.Model.Blocks);
        Recompute(cancellationToken);
    }

    /// <summary>The damping options.</summary>
    public KfacInverseOptions Options { get; }

    /// <inheritdoc />
    public int Dimension => _operator.Dimension;

    /// <summary>The per-factor dampings used for each block (for exact damping: δ and 0).</summary>
    public IReadOnlyList<FactorDamping> BlockDampings => [.. _inverses.Select(i => i.Dampings)];

    /// <summary>Recomputes every block inverse from the operator's current factors.</summary>
    /// <remarks>All blocks are computed before any is replaced: after an exception (including cancellation) every block
    /// keeps its previous inverse. The token is checked before each factor's LAPACK calls.</remarks>
    /// <param name="cancellationToken">Cancels the recomputation between kernel calls.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped factor is not positive definite (also after the float64 retry).</exception>
    /// <exception cref="EigenDecompositionFailedException">Exact damping: an eigendecomposition did not converge.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public void Recompute(CancellationToken cancellationToken = default)
    {
        using var busy = _guard.Enter(this);
        for (int i = 0; i < _inverses.Length; i++)
        {
            var b = _operator.Blocks[i];
            _inverses[i].Prepare(_operator.Backend, b.GradientStorage, b.InputStorage, Options, _contexts[i], cancellationToken);
        }

        foreach (var inverse in _inverses)
        {
            inverse.Commit();
        }
    }

    /// <summary><c>destination = K⁻¹ · source</c> for a matrix with K columns.</summary>
    /// <exception cref="ArgumentException">Shapes do not match, the destination overlaps the source, or the product of a
    /// finite source overflows (the destination's content is then unspecified).</exception>
    public void Multiply(ReadOnlySpan2D<T> source, Span2D<T> destination)
    {
        using var busy = _guard.Enter(this);
        BlockProducts.ValidateMatrices(Dimension, source, destination);
        int k = source.Width;
        _workspace.Ensure(k);
        var backend = _operator.Backend;
        for (int i = 0; i < _inverses.Length; i++)
        {
            var layout = _operator.Blocks[i].Layout;
            if (!layout.HasInputFactor)
            {
                _inverses[i].ApplyBias(backend, source.Slice(layout.BiasOffset, 0, layout.OutputSize, k),
                    destination.Slice(layout.BiasOffset, 0, layout.OutputSize, k), _workspace.Scratch(layout.OutputSize, k));
                continue;
            }

            var packed = _workspace.Packed(k * layout.OutputSize, layout.InputSize);
            KroneckerKernels.Gather(layout, source, packed);
            _inverses[i].ApplyPacked(backend, packed, _workspace.Scratch(k * layout.OutputSize, layout.InputSize), k);
            KroneckerKernels.Scatter(layout, packed, destination);
        }

        BlockProducts.EnsureFiniteProduct(source, destination);
    }

    /// <inheritdoc />
    public void Apply(ReadOnlySpan<T> source, Span<T> destination) =>
        Multiply(BlockProducts.AsColumn(source, Dimension, nameof(source)), BlockProducts.AsColumn(destination, Dimension, nameof(destination)));

    /// <summary>Writes the dense matrix into <paramref name="destination"/> (for tests).</summary>
    public void ToDense(Span2D<T> destination) => BlockProducts.ToDense(Dimension, Multiply, destination);

    /// <summary>Returns the dense matrix as a new row-major array (for tests).</summary>
    public T[] ToDense()
    {
        var result = new T[Dimension * Dimension];
        ToDense(new Span2D<T>(result, Dimension, Dimension));
        return result;
    }
}
