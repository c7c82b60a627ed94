namespace Curvature.Solvers;

/// <summary>Stopping rules and start of <see cref="ConjugateGradient"/>.</summary>
/// <remarks>The solve stops as converged when <c>‖r‖₂ ≤ max(RelativeTolerance · ‖b‖₂, AbsoluteTolerance)</c>, with r the
/// (recursively updated) residual <c>b − A x</c>. A fixed-budget solve to an absolute tolerance, e.g. at
/// most 10 iterations to 1e-6 from a zero start, is <c>RelativeTolerance = 0, AbsoluteTolerance = 1e-6, MaxIterations = 10</c>.</remarks>
public sealed record ConjugateGradientOptions
{
    /// <summary>The default settings.</summary>
    public static ConjugateGradientOptions Default { get; } = new();

    /// <summary>Tolerance on the residual relative to the right-hand side's norm (default 1e-6); must be ≥ 0.</summary>
    public double RelativeTolerance { get; init; } = 1e-6;

    /// <summary>Absolute tolerance on the residual norm (default 0); must be ≥ 0.</summary>
    public double AbsoluteTolerance { get; init; }

    /// <summary>Iteration cap (operator applications after the start); null means 10 × the dimension. Must be ≥ 0.</summary>
    public int? MaxIterations { get; init; }

    /// <summary>Whether the solution vector's content on entry is the starting guess (otherwise the start is 0).</summary>
    public bool UseInitialGuess { get; init; }

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A tolerance is NaN or negative, or the iteration cap is negative.</exception>
    public void Validate()
    {
        if (double.IsNaN(RelativeTolerance) || RelativeTolerance < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), RelativeTolerance, "The relative tolerance must be non-negative.");
        }

        if (double.IsNaN(AbsoluteTolerance) || AbsoluteTolerance < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(AbsoluteTolerance), AbsoluteTolerance, "The absolute tolerance must be non-negative.");
        }

        if (MaxIterations is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "The iteration cap must be non-negative.");
        }
    }
}
