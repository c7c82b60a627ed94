namespace Curvature.Ekfac;

/// <summary>
/// How the corrected eigenvalues of a weight block are evaluated (curvlinops'
/// <c>compute_eigenvalue_correction_linear_weight_sharing</c>); both give the same λ up to rounding.
/// </summary>
public enum EkfacCorrectionStrategy
{
    /// <summary>Chosen per block by memory use: <see cref="Gramian"/> when <c>S²(D1 + D2) &lt; D1·D2</c>
    /// (S shared positions, D1 = <c>D_out</c>, D2 = <c>D_in'</c>), otherwise <see cref="PerExampleGradients"/>.</summary>
    Automatic = 0,

    /// <summary>Form each rotated per-example gradient <c>Q_Gᵀ (Σ_s g_s x_sᵀ) Q_A</c> and add its elementwise square
    /// (memory ∝ <c>D1·D2</c>); rows are rotated before the sum over positions when that is cheaper
    /// (<c>S(D1² + D2²) ≤ D1·D2·(D1 + D2)</c>), the per-example gradients afterwards otherwise.</summary>
    PerExampleGradients = 1,

    /// <summary>Rotate, then contract the per-example Gramians over positions:
    /// <c>λ = Σ_n Σ_{s,t} (ỹ_s ∘ ỹ_t)(x̃_s ∘ x̃_t)ᵀ</c> (memory ∝ <c>S²(D1 + D2)</c>).</summary>
    Gramian = 2,
}
