namespace Curvature.Damping;

/// <summary>Damping of a K-FAC inverse (curvlinops' <c>KFACLinearOperator.inverse</c> arguments).</summary>
public sealed record KfacInverseOptions
{
    /// <summary>The damping δ ≥ 0 (curvlinops' <c>damping</c>).</summary>
    public double Damping { get; init; }

    /// <summary>How the damping is applied.</summary>
    public DampingMode Mode { get; init; } = DampingMode.Plain;

    /// <summary>Lower bound on each factor's damping for <see cref="DampingMode.Heuristic"/> (curvlinops default 1e-8).</summary>
    public double MinDamping { get; init; } = 1e-8;

    /// <summary>Retry a failed float32 Cholesky in float64 (curvlinops' <c>retry_double_precision</c>, default true).</summary>
    public bool RetryInDoublePrecision { get; init; } = true;

    /// <summary>Plain damping δ.</summary>
    public static KfacInverseOptions Plain(double damping) => new() { Damping = damping };

    /// <summary>π-heuristic damping δ with a minimum per-factor damping.</summary>
    public static KfacInverseOptions Heuristic(double damping, double minDamping = 1e-8) => new() { Damping = damping, Mode = DampingMode.Heuristic, MinDamping = minDamping };

    /// <summary>Exact (eigen) damping δ.</summary>
    public static KfacInverseOptions Exact(double damping) => new() { Damping = damping, Mode = DampingMode.Exact };

    /// <summary>Throws for negative or non-finite dampings or an unknown mode.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Damping) || Damping < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Damping), Damping, "The damping must be finite and non-negative.");
        }

        if (!double.IsFinite(MinDamping) || MinDamping < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MinDamping), MinDamping, "The minimum damping must be finite and non-negative.");
        }

        if (Mode is not (DampingMode.Plain or DampingMode.Heuristic or DampingMode.Exact or DampingMode.TraceScaled))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown damping mode.");
        }
    }
}
