namespace Curvature.Optimizers.Internals;

/// <summary>
/// The quadratic model of Martens &amp; Grosse 2015, §7 (KFAC-JAX's <c>_compute_quad_change_for_damping_and_coefficients</c>):
/// for update directions <c>v₁, v₂</c> with <c>A_ij = v_iᵀ C v_j</c> (curvature), <c>D_ij = v_iᵀ v_j</c> and
/// <c>b_i = ∇ᵀ v_i</c>, the coefficients minimising <c>M(w) = ½ wᵀ(A + λD)w + bᵀw</c> are <c>w = −(A + λD)⁻¹ b</c>; the
/// predicted change reported is the undamped <c>½ wᵀ A w + bᵀ w</c>.
/// </summary>
internal static class QuadraticModel
{
    /// <summary>The coefficients and the predicted change.</summary>
    public readonly record struct Solution(double First, double Second, double PredictedChange);

    /// <summary>One direction: <c>w = −b / (a + λ d)</c>.</summary>
    public static Solution Solve(double a, double d, double b, double damping)
    {
        double denominator = a + (damping * d);
        if (!(denominator > 0) || !double.IsFinite(b))
        {
            return new Solution(0, 0, 0);
        }

        double w = -b / denominator;
        return new Solution(w, 0, (0.5 * w * w * a) + (w * b));
    }

    /// <summary>Two directions: the 2×2 system; falls back to the first direction alone when it is singular.</summary>
    public static Solution Solve(double a11, double a12, double a22, double d11, double d12, double d22, double b1, double b2, double damping)
    {
        double m11 = a11 + (damping * d11), m12 = a12 + (damping * d12), m22 = a22 + (damping * d22);
        double det = (m11 * m22) - (m12 * m12);
        if (!(det > 1e-12 * m11 * m22) || !(m11 > 0) || !(m22 > 0))
        {
            return Solve(a11, d11, b1, damping);
        }

        double w1 = -((m22 * b1) - (m12 * b2)) / det;
        double w2 = -((m11 * b2) - (m12 * b1)) / det;
        double predicted = (0.5 * ((w1 * w1 * a11) + (2 * w1 * w2 * a12) + (w2 * w2 * a22))) + (w1 * b1) + (w2 * b2);
        return new Solution(w1, w2, predicted);
    }
}
