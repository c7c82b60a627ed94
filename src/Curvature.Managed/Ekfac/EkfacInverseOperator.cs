using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Diagnostics;
using Curvature.Kfac.Internals;
using Curvature.Operators;

namespace Curvature.Ekfac;

/// <summary>
/// The damped inverse of an <see cref="EkfacOperator{T}"/> (curvlinops' <c>EKFACLinearOperator.inverse(damping)</c>;
/// George et al. 2018): per block <c>Y = Q_G ((Q_Gᵀ V Q_A) / (λ + δ)) Q_Aᵀ</c> (bias-only: <c>Q_G ((Q_Gᵀ b) / (λ + δ))</c>).
/// </summary>
/// <remarks>
/// Exact inverse of <c>EKFAC + δI</c>, since the eigenbasis is orthogonal. It views the operator's blocks; products use
/// BLAS <c>?GEMM</c> and allocate nothing after the first call with K columns. It shares the operator's scratch: not
/// thread-safe, and not to be used concurrently with the operator.
/// </remarks>
public sealed class EkfacInverseOperator<T> : ILinearOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly EkfacOperator<T> _operator;
    private readonly T _damping;

    internal EkfacInverseOperator(EkfacOperator<T> op, double damping)
    {
        if (!double.IsFinite(damping) || damping < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(damping), damping, "The damping must be finite and non-negative.");
        }

        _operator = op;
        _damping = T.CreateChecked(damping);
        Damping = damping;
        for (int i = 0; i < op.Blocks.Count; i++)
        {
            var lambda = op.Blocks[i].CorrectedStorage;
            for (int j = 0; j < lambda.Length; j++)
            {
                if (!(lambda[j] + _damping > T.Zero))
                {
                    CurvatureMetrics.RecordFactorizationFailure("ekfac", CurvatureMetrics.ElementTypeName<T>(), op.Backend.Kind);
                    throw new MatrixNotPositiveDefiniteException(new FactorizationStatus("ekfac", j + 1), lambda.Length,
                        $"EKFAC block {i} ({op.Blocks[i].Layout.Layer.Name}, {op.Blocks[i].Layout.Parameters}): corrected eigenvalue {j} + damping = {double.CreateChecked(lambda[j] + _damping)} is not positive");
                }
            }
        }
    }

    /// <summary>δ.</summary>
    public double Damping { get; }

    /// <inheritdoc />
    public int Dimension => _operator.Dimension;

    /// <summary><c>destination = (EKFAC + δI)⁻¹ · source</c> for a matrix with K columns.</summary>
    /// <exception cref="ArgumentException">Shapes do not match, or the destination overlaps the source.</exception>
    public void Multiply(ReadOnlySpan2D<T> source, Span2D<T> destination)
    {
        BlockProducts.ValidateMatrices(Dimension, source, destination);
        _operator.MultiplyCore(source, destination, true, _damping);
    }

    /// <inheritdoc />
    public void Apply(ReadOnlySpan<T> source, Span<T> destination) =>
        Multiply(BlockProducts.AsColumn(source, Dimension, nameof(source)), BlockProducts.AsColumn(destination, Dimension, nameof(destination)));

    /// <summary>Returns the dense matrix as a new row-major array (for tests).</summary>
    public T[] ToDense()
    {
        var result = new T[Dimension * Dimension];
        BlockProducts.ToDense(Dimension, Multiply, new Span2D<T>(result, Dimension, Dimension));
        return result;
    }
}
