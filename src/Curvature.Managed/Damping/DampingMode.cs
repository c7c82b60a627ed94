namespace Curvature.Damping;

/// <summary>How damping enters the inverse of a Kronecker block <c>G ⊗ A</c>.</summary>
public enum DampingMode
{
    /// <summary>The same δ on each factor: <c>(G + δI)⁻¹ ⊗ (A + δI)⁻¹</c> (curvlinops' default).</summary>
    Plain = 0,

    /// <summary>π-damping (Martens &amp; Grosse 2015, §6.3): <c>(G + (√δ/π)I)⁻¹ ⊗ (A + √δ·π I)⁻¹</c>,
    /// <c>π = √((tr A / d_A) / (tr G / d_G))</c>, each damping at least <c>minDamping</c>.</summary>
    Heuristic = 1,

    /// <summary>Exact damping of the product: <c>(G ⊗ A + δI)⁻¹</c> via eigendecompositions of both factors.</summary>
    Exact = 2,

    /// <summary>Trace-scaled Tikhonov damping: each factor M gets <c>max(δ·tr(M)/n, 1e-12)</c> on its diagonal.</summary>
    TraceScaled = 3,
}
