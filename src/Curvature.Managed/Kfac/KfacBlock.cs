using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Internals;
using Curvature.Kfac.Internals;

namespace Curvature.Kfac;

/// <summary>
/// The Kronecker factors of one block: the gradient covariance <c>G</c> (<c>D_out × D_out</c>) and, unless the block is
/// bias-only, the input covariance <c>A</c> (<c>D_in' × D_in'</c>). The block represents <c>G ⊗ A</c> acting on
/// <c>vec_row(V)</c> as <c>G V Aᵀ</c>. Factors are stored full (both triangles), row-major, 64-byte aligned.
/// </summary>
/// <remarks>
/// Reuse (e.g. EKFAC): the eigenbases are those of <see cref="GradientCovariance"/> and <see cref="InputCovariance"/>; the
/// per-example inputs <c>x[n, s]</c> (with the ones feature when <see cref="KfacBlockLayout.AppendsOnes"/>) and gradients
/// <c>g[v, n, s]</c> in expand format come from <see cref="KfacWeightSharing.FormatInputs{T}"/> and
/// <see cref="KfacWeightSharing.FormatGradients{T}"/>, the batch scaling κ_b from
/// <see cref="KfacFactorBuilder{T}.LossCorrection"/>; the block order and parameter offsets are in <see cref="Layout"/>.
/// Operators view a block's factors without copying them: a change shows through. Not thread-safe.
/// </remarks>
public sealed class KfacBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly AlignedBuffer<T> _gradientCovariance;
    private readonly AlignedBuffer<T> _inputCovariance;

    /// <summary>Creates a block with zero factors.</summary>
    public KfacBlock(KfacBlockLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        _gradientCovariance = new AlignedBuffer<T>(layout.OutputSize * layout.OutputSize);
        _inputCovariance = new AlignedBuffer<T>(layout.InputSize * layout.InputSize);
    }

    /// <summary>Which layer and parameters the block covers.</summary>
    public KfacBlockLayout Layout { get; }

    /// <summary>G, the gradient (output-side) factor, <c>D_out × D_out</c>; writable (e.g. to load factors).</summary>
    public Span2D<T> GradientCovariance => _gradientCovariance.AsSpan2D(Layout.OutputSize, Layout.OutputSize);

    /// <summary>A, the input-side factor, <c>D_in' × D_in'</c>; empty for a bias-only block.</summary>
    public Span2D<T> InputCovariance => _inputCovariance.AsSpan2D(Layout.InputSize, Layout.InputSize);

    internal AlignedBuffer<T> GradientStorage => _gradientCovariance;

    internal AlignedBuffer<T> InputStorage => _inputCovariance;

    /// <summary>Sets both factors to zero.</summary>
    public void Clear()
    {
        _gradientCovariance.Clear();
        _inputCovariance.Clear();
    }

    /// <summary>Sets G to the identity (the forward-only Fisher).</summary>
    public void SetGradientCovarianceToIdentity()
    {
        _gradientCovariance.Clear();
        for (int i = 0; i < Layout.OutputSize; i++)
        {
            _gradientCovariance[(i * Layout.OutputSize) + i] = T.One;
        }
    }

    /// <summary><c>G ← G + scale · Σ_r g_r g_rᵀ</c> over the rows of <paramref name="gradientRows"/> (<c>rows × D_out</c>).</summary>
    /// <remarks>BLAS <c>?SYRK</c> with β = 1 on the lower triangle, then mirrored.</remarks>
    public void AccumulateGradientCovariance(CurvatureBackend backend, ReadOnlySpan2D<T> gradientRows, T scale)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (gradientRows.Width != Layout.OutputSize)
        {
            throw new ArgumentException($"Gradient rows must have {Layout.OutputSize} columns, but they have {gradientRows.Width}.", nameof(gradientRows));
        }

        FactorMath.AccumulateGram(backend, gradientRows, GradientCovariance, scale);
    }

    /// <summary><c>A ← A + scale · Σ_r x_r x_rᵀ</c> over the rows of <paramref name="inputRows"/> (<c>rows × D_in'</c>).</summary>
    /// <remarks>BLAS <c>?SYRK</c> with β = 1 on the lower triangle, then mirrored.</remarks>
    public void AccumulateInputCovariance(CurvatureBackend backend, ReadOnlySpan2D<T> inputRows, T scale)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (!Layout.HasInputFactor)
        {
            throw new InvalidOperationException("A bias-only block has no input factor.");
        }

        if (inputRows.Width != Layout.InputSize)
        {
            throw new ArgumentException($"Input rows must have {Layout.InputSize} columns, but they have {inputRows.Width}.", nameof(inputRows));
        }

        FactorMath.AccumulateGram(backend, inputRows, InputCovariance, scale);
    }
}
