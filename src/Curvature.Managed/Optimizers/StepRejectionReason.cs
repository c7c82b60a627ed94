namespace Curvature.Optimizers;

/// <summary>Why a step was rejected (nothing changed).</summary>
public enum StepRejectionReason
{
    /// <summary>A parameter gradient holds NaN or infinity.</summary>
    NonFiniteGradient = 0,

    /// <summary>The computed update holds NaN or infinity (e.g. an overflow in float).</summary>
    NonFiniteUpdate = 1,

    /// <summary>The curvature statistics would hold NaN or infinity (e.g. after an all-reduce).</summary>
    NonFiniteStatistics = 2,

    /// <summary>A layer's curvature is needed but it has never been observed.</summary>
    MissingStatistics = 3,

    /// <summary>The loss passed to the step is not finite.</summary>
    NonFiniteLoss = 4,
}
