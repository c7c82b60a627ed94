namespace Curvature.Demo.Training;

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary>The wall-clock budget was used up.</summary>
    Budget,

    /// <summary>The step cap (<c>--steps</c>) was reached first.</summary>
    StepCap,

    /// <summary>The loss became NaN or infinite, or the optimizer rejected a step.</summary>
    Diverged,
}
