using Curvature.Damping;

namespace Curvature.Kfac;

/// <summary>Settings of a running K-FAC preconditioner (<see cref="KfacLayerPreconditioner{T}"/>).</summary>
public sealed record KfacPreconditionerOptions
{
    /// <summary>The damping δ ≥ 0 (default 1e-3, as in the seed).</summary>
    public double Damping { get; init; } = 1e-3;

    /// <summary>How δ is applied (default <see cref="DampingMode.TraceScaled"/>, the seed's rule).</summary>
    public DampingMode DampingMode { get; init; } = DampingMode.TraceScaled;

    /// <summary>Lower bound per factor for <see cref="DampingMode.Heuristic"/>.</summary>
    public double MinDamping { get; init; } = 1e-8;

    /// <summary>Weight ε of the old factor in the running average <c>F ← ε F + (1 − ε) F_batch</c> (default 0.95); the first update replaces.</summary>
    public double EmaDecay { get; init; } = 0.95;

    /// <summary>
    /// Inverse refresh period T ≥ 1: the cached inverses are recomputed when they are needed and at least T factor
    /// updates happened since they were computed (T = 1: whenever the factors changed). Changing the damping always
    /// invalidates them.
    /// </summary>
    public int InverseUpdatePeriod { get; init; } = 1;

    /// <summary>
    /// Where the inverses are recomputed (default <see cref="KfacInverseRefresh.Synchronous"/>). A runtime setting: it is
    /// not written to checkpoints, and loading a checkpoint keeps the receiving preconditioner's choice.
    /// </summary>
    public KfacInverseRefresh InverseRefresh { get; init; } = KfacInverseRefresh.Synchronous;

    /// <summary>Throws for out-of-range settings.</summary>
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

        if (!(EmaDecay >= 0 && EmaDecay <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(EmaDecay), EmaDecay, "The EMA decay must lie in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(InverseUpdatePeriod, 1, nameof(InverseUpdatePeriod));
        if (DampingMode is not (DampingMode.Plain or DampingMode.Heuristic or DampingMode.Exact or DampingMode.TraceScaled))
        {
            throw new ArgumentOutOfRangeException(nameof(DampingMode), DampingMode, "Unknown damping mode.");
        }

        if (InverseRefresh is not (KfacInverseRefresh.Synchronous or KfacInverseRefresh.Background))
        {
            throw new ArgumentOutOfRangeException(nameof(InverseRefresh), InverseRefresh, "Unknown inverse refresh mode.");
        }
    }

    internal KfacInverseOptions ToInverseOptions() => new() { Damping = Damping, Mode = DampingMode, MinDamping = MinDamping };
}
