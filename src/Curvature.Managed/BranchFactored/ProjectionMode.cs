namespace Curvature.BranchFactored;

/// <summary>How the random parameter-to-state projection <c>P</c> is chosen.</summary>
public enum ProjectionMode
{
    /// <summary>A fresh <c>P</c> is drawn at every step that uses branch samples (the default).</summary>
    FreshEachStep = 0,

    /// <summary><c>P</c> is drawn once, at the first step that uses branch samples, and reused; the parameter count and the
    /// state dimension must then stay the same.</summary>
    Fixed = 1,
}
