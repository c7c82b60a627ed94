namespace Curvature.Optimizers.Internals;

/// <summary>
/// Levenberg–Marquardt adaptation of the damping λ (Martens &amp; Grosse 2015, §6.5; KFAC-JAX's
/// <c>_update_damping</c>): the reduction ratio <c>ρ = (L(θ+δ) − L(θ)) / M(δ)</c> compares the actual change of the loss
/// with the quadratic model's prediction; every T₁ steps <c>λ ← ω λ</c> if ρ &gt; 3/4 and <c>λ ← λ / ω</c> if ρ &lt; 1/4,
/// with <c>ω = decay^T₁</c>, clipped to [min, max].
/// </summary>
internal static class LevenbergMarquardt
{
    /// <summary>The value ρ takes when it is undefined (NaN actual change, or a predicted change that is not a decrease):
    /// treated as a very poor model, as KFAC-JAX treats a NaN ρ (−100).</summary>
    public const double UndefinedRatio = -100;

    /// <summary>ρ = actual / predicted; <see cref="UndefinedRatio"/> when the prediction is not a finite decrease or the
    /// actual change is not finite.</summary>
    public static double ReductionRatio(double actualChange, double predictedChange)
    {
        if (!double.IsFinite(actualChange) || !double.IsFinite(predictedChange) || predictedChange >= 0)
        {
            return UndefinedRatio;
        }

        return actualChange / predictedChange;
    }

    /// <summary>The adapted damping for a reduction ratio.</summary>
    public static double Adapt(double damping, double rho, double decay, int interval, double min, double max)
    {
        double omega = Math.Pow(decay, interval);
        double next = rho > 0.75 ? damping * omega : rho < 0.25 ? damping / omega : damping;
        return Math.Clamp(next, min, max);
    }
}
