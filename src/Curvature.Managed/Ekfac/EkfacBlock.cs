using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Diagnostics;
using Curvature.Diagnostics.Internals;
using Curvature.Ekfac.Internals;
using Curvature.Internals;
using Curvature.Kfac;

namespace Curvature.Ekfac;

/// <summary>
/// One EKFAC block (George et al. 2018): the K-FAC factors <c>G</c>, <c>A</c> of the block, their
/// eigenvectors <c>Q_G</c>, <c>Q_A</c> (columns, ascending eigenvalues) and the corrected eigenvalues <c>λ</c>
/// (<c>D_out × D_in'</c>; <c>D_out × 1</c> for a bias-only block), <c>λ[i, j]</c> belonging to <c>Q_G[:, i] ⊗ Q_A[:, j]</c>.
/// The block is <c>Y = Q_G (λ ∘ (Q_Gᵀ V Q_A)) Q_Aᵀ</c> on the block's matrix <c>V</c> (the parameters of the block as a <c>D_out × D_in'</c> matrix, bias in the last column; see
/// <see cref="KfacBlock{T}"/>).
/// </summary>
/// <remarks>Operators view a block without copying it: a change shows through. Not thread-safe.</remarks>
public sealed class EkfacBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly AlignedBuffer<T> _gradientCovariance;
    private readonly AlignedBuffer<T> _inputCovariance;
    private readonly AlignedBuffer<T> _gradientEigenvectors;
    private readonly AlignedBuffer<T> _inputEigenvectors;
    private readonly T[] _gradientEigenvalues;
    private readonly T[] _inputEigenvalues;
    private readonly T[] _corrected;

    /// <summary>Creates a block with zero factors, identity eigenvectors and zero corrected eigenvalues.</summary>
    public EkfacBlock(KfacBlockLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        int dOut = layout.OutputSize, dIn = layout.InputSize;
        _gradientCovariance = new AlignedBuffer<T>(dOut * dOut);
        _inputCovariance = new AlignedBuffer<T>(dIn * dIn);
        _gradientEigenvectors = new AlignedBuffer<T>(dOut * dOut);
        _inputEigenvectors = new AlignedBuffer<T>(dIn * dIn);
        _gradientEigenvalues = new T[dOut];
        _inputEigenvalues = new T[dIn];
        _corrected = new T[dOut * layout.Columns];
        SetIdentity(_gradientEigenvectors, dOut);
        SetIdentity(_inputEigenvectors, dIn);
    }

    /// <summary>Which layer and parameters the block covers (the K-FAC block layout).</summary>
    public KfacBlockLayout Layout { get; }

    /// <summary>G, the K-FAC gradient factor (<c>D_out × D_out</c>) the eigenbasis was computed from.</summary>
    public Span2D<T> GradientCovariance => _gradientCovariance.AsSpan2D(Layout.OutputSize, Layout.OutputSize);

    /// <summary>A, the K-FAC input factor (<c>D_in' × D_in'</c>; empty for a bias-only block).</summary>
    public Span2D<T> InputCovariance => _inputCovariance.AsSpan2D(Layout.InputSize, Layout.InputSize);

    /// <summary>Q_G: eigenvectors of G as columns (writable, e.g. to impose a reference basis).</summary>
    public Span2D<T> GradientEigenvectors => _gradientEigenvectors.AsSpan2D(Layout.OutputSize, Layout.OutputSize);

    /// <summary>Q_A: eigenvectors of A as columns (empty for a bias-only block; writable).</summary>
    public Span2D<T> InputEigenvectors => _inputEigenvectors.AsSpan2D(Layout.InputSize, Layout.InputSize);

    /// <summary>Eigenvalues of G, ascending (as computed by <see cref="ComputeEigenbasis"/>).</summary>
    public ReadOnlySpan<T> GradientEigenvalues => _gradientEigenvalues;

    /// <summary>Eigenvalues of A, ascending (empty for a bias-only block).</summary>
    public ReadOnlySpan<T> InputEigenvalues => _inputEigenvalues;

    /// <summary>λ, the corrected eigenvalues, <c>D_out × Columns</c> (row-major, as curvlinops flattens them; writable).</summary>
    public Span2D<T> CorrectedEigenvalues => new(_corrected, Layout.OutputSize, Layout.Columns);

    internal AlignedBuffer<T> GradientCovarianceStorage => _gradientCovariance;

    internal AlignedBuffer<T> InputCovarianceStorage => _inputCovariance;

    internal AlignedBuffer<T> GradientEigenvectorStorage => _gradientEigenvectors;

    internal AlignedBuffer<T> InputEigenvectorStorage => _inputEigenvectors;

    internal T[] GradientEigenvalueStorage => _gradientEigenvalues;

    internal T[] InputEigenvalueStorage => _inputEigenvalues;

    internal T[] CorrectedStorage => _corrected;

    /// <summary>Copies the factors of a K-FAC block with the same layout (the eigenbasis is not recomputed).</summary>
    /// <exception cref="ArgumentException">The layouts differ.</exception>
    public void CopyFactorsFrom(KfacBlock<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Layout.OutputSize != Layout.OutputSize || source.Layout.InputSize != Layout.InputSize
            || source.Layout.Parameters != Layout.Parameters || source.Layout.Layer.Name != Layout.Layer.Name)
        {
            throw new ArgumentException($"The K-FAC block {source.Layout} does not match the EKFAC block {Layout}.", nameof(source));
        }

        source.GradientStorage.CopyTo(_gradientCovariance);
        source.InputStorage.CopyTo(_inputCovariance);
    }

    /// <summary>Recomputes <c>Q_G</c>, <c>Q_A</c> and the factor eigenvalues from the current factors.</summary>
    /// <remarks>LAPACK <c>?SYEVD</c> through the backend (ascending eigenvalues, eigenvector columns with the backend's
    /// sign rule). The eigenvectors are computed into scratch first: a failure leaves the block untouched.</remarks>
    /// <exception cref="EigenDecompositionFailedException">The eigensolver did not converge.</exception>
    public void ComputeEigenbasis(CurvatureBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        Commit(_gradientCovariance, _inputCovariance, Decompose(backend, _gradientCovariance, _inputCovariance));
    }

    /// <summary>Eigendecompositions of candidate factors (same sizes as this block's), into new aligned buffers; the token is
    /// checked between the two. The duration is recorded in <see cref="CurvatureMetrics.EigenbasisRefreshDuration"/>.</summary>
    internal FactorEigenbasis<T> Decompose(CurvatureBackend backend, AlignedBuffer<T> gradientCovariance, AlignedBuffer<T> inputCovariance, CancellationToken cancellationToken = default)
    {
        long start = CurvatureMetrics.StartTimestamp(CurvatureMetrics.EigenbasisRefreshEnabled);
        int dOut = Layout.OutputSize, dIn = Layout.InputSize;
        var qg = gradientCovariance.Clone();
        var wg = new T[dOut];
        backend.SymmetricEigenCounted(qg.AsSpan2D(dOut, dOut), Triangle.Lower, wg);
        var qa = inputCovariance.Clone();
        var wa = new T[dIn];
        if (dIn > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            backend.SymmetricEigenCounted(qa.AsSpan2D(dIn, dIn), Triangle.Lower, wa);
        }

        CurvatureMetrics.RecordEigenbasisRefresh<T>(start, backend.Kind);
        return new FactorEigenbasis<T>(qg, wg, qa, wa);
    }

    /// <summary>Takes the factors and their eigenbasis (cannot fail).</summary>
    internal void Commit(AlignedBuffer<T> gradientCovariance, AlignedBuffer<T> inputCovariance, FactorEigenbasis<T> basis)
    {
        if (!ReferenceEquals(gradientCovariance, _gradientCovariance))
        {
            gradientCovariance.CopyTo(_gradientCovariance);
            inputCovariance.CopyTo(_inputCovariance);
        }

        basis.GradientVectors.CopyTo(_gradientEigenvectors);
        basis.GradientValues.CopyTo(_gradientEigenvalues, 0);
        basis.InputVectors.CopyTo(_inputEigenvectors);
        basis.InputValues.CopyTo(_inputEigenvalues, 0);
    }

    /// <summary>Sets the corrected eigenvalues to zero.</summary>
    public void ClearCorrections() => Array.Clear(_corrected);

    private static void SetIdentity(AlignedBuffer<T> m, int n)
    {
        for (int i = 0; i < n; i++)
        {
            m[(i * n) + i] = T.One;
        }
    }
}
