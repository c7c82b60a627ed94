namespace Curvature.BranchFactored;

/// <summary>Settings of a <see cref="BranchFactoredPreconditioner{T}"/>.</summary>
public sealed record BranchFactoredOptions
{
    /// <summary>Learning rate (default 5e-3): <c>θ ← θ − lr · P v</c>.</summary>
    public double LearningRate { get; init; } = 5e-3;

    /// <summary>Tikhonov damping added to the branch covariance's diagonal (default 1e-3); must be ≥ 0.</summary>
    public double Damping { get; init; } = 1e-3;

    /// <summary>Requested number of diagonal blocks of the state covariance (default 4); at most
    /// the state dimension is used. Must be ≥ 1.</summary>
    public int Blocks { get; init; } = 4;

    /// <summary>When set, the <b>updated parameters</b> are clipped element-wise to <c>[−Clip, Clip]</c> (the
    /// parameters, not the step); must be ≥ 0. Default: no clipping.</summary>
    public double? Clip { get; init; }

    /// <summary>Seed of the projection generator (default 2027). See <see cref="SeededGaussian"/>.</summary>
    public long Seed { get; init; } = 2027;

    /// <summary>Whether a fresh projection is drawn at every step (the default) or once.</summary>
    public ProjectionMode Projection { get; init; } = ProjectionMode.FreshEachStep;

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is NaN, infinite where it must be finite, or out of range.</exception>
    public void Validate()
    {
        if (!double.IsFinite(LearningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be finite.");
        }

        if (!double.IsFinite(Damping) || Damping < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Damping), Damping, "The damping must be finite and non-negative.");
        }

        if (Blocks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Blocks), Blocks, "The number of blocks must be at least 1.");
        }

        if (Clip is double c && (double.IsNaN(c) || c < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Clip), c, "The clip bound must be non-negative.");
        }

        if (Projection is not (ProjectionMode.FreshEachStep or ProjectionMode.Fixed))
        {
            throw new ArgumentOutOfRangeException(nameof(Projection), Projection, "Unknown projection mode.");
        }
    }
}
