namespace Curvature.Ekfac;

/// <summary>
/// How the corrected eigenvalues of a weight block are evaluated (curvlinops'
/// <c>compute_eigenvalue_correction_linear_weight_sharing</c>); both give the same λ up to rounding.
/// </summary>
public enum EkfacCorrectionStrategy
{
    /// <summary>The seed's memory rule per block: <see cref="Gramian"/> when <c>S²(D1 + D2) &lt; D1·D2</c>
    /// (S shared positions, D1 = <c>D_out</c>, D2 = <c>D_in'</c>), otherwise <see cref="PerExampleGradients"/>.</summary>
    Automatic = 0,

    /// <summary>Rotate inputs and gradients into the eigenbasis, then form each rotated per-example gradient
    /// <c>Σ_s (Q_Gᵀ g_s)(Q_Aᵀ x_s)ᵀ</c> and add its elementwise square (memory ∝ <c>D1·D2</c>).</summary>
    PerExampleGradients = 1,

    /// <summary>Rotate, then contract the per-example Gramians over positions:
    /// <c>λ = Σ_n Σ_{s,t} (ỹ_s ∘ ỹ_t)(x̃_s ∘ x̃_t)ᵀ</c> (memory ∝ <c>S²(D1 + D2)</c>).</summary>
    Gramian = 2,
}
