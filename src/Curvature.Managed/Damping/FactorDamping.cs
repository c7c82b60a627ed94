namespace Curvature.Damping;

/// <summary>The per-factor dampings of one Kronecker block <c>G ⊗ A</c>.</summary>
/// <param name="Gradient">δ_G added to G's diagonal.</param>
/// <param name="Input">δ_A added to A's diagonal (0 for a bias-only block).</param>
public readonly record struct FactorDamping(double Gradient, double Input)
{
    /// <summary>The smallest trace-scaled damping, 1e-12.</summary>
    public const double TraceScaledFloor = 1e-12;

    /// <summary>
    /// The per-factor dampings for <paramref name="mode"/> (not for <see cref="DampingMode.Exact"/>, which damps the product).
    /// </summary>
    /// <param name="mode">Plain, Heuristic or TraceScaled.</param>
    /// <param name="damping">δ ≥ 0.</param>
    /// <param name="minDamping">Lower bound per factor (heuristic only).</param>
    /// <param name="traceG">tr(G).</param>
    /// <param name="orderG">d_G.</param>
    /// <param name="traceA">tr(A) (ignored when <paramref name="orderA"/> is 0: bias-only block).</param>
    /// <param name="orderA">d_A, 0 for a bias-only block.</param>
    /// <remarks>
    /// Heuristic (Martens &amp; Grosse 2015 §6.3, curvlinops): <c>π = √((tr A/d_A)/(tr G/d_G))</c>,
    /// <c>δ_G = max(√δ/π, min)</c>, <c>δ_A = max(√δ·π, min)</c>; bias-only: <c>δ_G = max(δ, min)</c>. When either mean
    /// diagonal is zero, π is undefined: Curvature then uses <b>π = 1</b> (δ_G = δ_A = max(√δ, min)); a negative mean
    /// diagonal (not a covariance) raises <see cref="ArgumentException"/>.
    /// Trace-scaled: <c>δ_M = max(δ·tr(M)/d_M, 1e-12)</c> for each factor.
    /// </remarks>
    public static FactorDamping For(DampingMode mode, double damping, double minDamping, double traceG, int orderG, double traceA, int orderA)
    {
        switch (mode)
        {
            case DampingMode.Plain:
                return new FactorDamping(damping, orderA == 0 ? 0 : damping);
            case DampingMode.TraceScaled:
                return new FactorDamping(
                    Math.Max(damping * traceG / orderG, TraceScaledFloor),
                    orderA == 0 ? 0 : Math.Max(damping * traceA / orderA, TraceScaledFloor));
            case DampingMode.Heuristic:
                if (orderA == 0)
                {
                    return new FactorDamping(Math.Max(damping, minDamping), 0);
                }

                double meanG = traceG / orderG, meanA = traceA / orderA;
                if (meanG < 0 || meanA < 0)
                {
                    throw new ArgumentException($"π-damping needs factors with non-negative traces (mean diagonals G: {meanG}, A: {meanA}).");
                }

                double pi = meanG == 0 || meanA == 0 ? 1.0 : Math.Sqrt(meanA / meanG);
                double root = Math.Sqrt(damping);
                return new FactorDamping(Math.Max(root / pi, minDamping), Math.Max(root * pi, minDamping));
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Per-factor dampings exist for Plain, Heuristic and TraceScaled only.");
        }
    }
}
