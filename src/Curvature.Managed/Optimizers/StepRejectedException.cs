namespace Curvature.Optimizers;

/// <summary>
/// A step was rejected before anything changed: parameters, statistics, inverses, momentum and counters are exactly as
/// they were before the call.
/// </summary>
public sealed class StepRejectedException : CurvatureException
{
    /// <summary>Creates the exception.</summary>
    public StepRejectedException(StepRejectionReason reason, string message)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>Why the step was rejected.</summary>
    public StepRejectionReason Reason { get; }
}
