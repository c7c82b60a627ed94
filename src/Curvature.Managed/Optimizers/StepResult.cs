namespace Curvature.Optimizers;

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">The index of the step (0 for the first).</param>
/// <param name="LearningRate">The effective learning rate: η of the learning-rate rule (after the schedule), or −α of the
/// quadratic-model rule (the coefficient of the preconditioned gradient, sign flipped so that it is positive for a descent step).</param>
/// <param name="Momentum">The effective momentum: μ of the learning-rate rule, or the quadratic-model coefficient of the previous update.</param>
/// <param name="Damping">The damping λ the step used.</param>
/// <param name="PredictedChange">The quadratic model's predicted loss change <c>M(δ)</c> of the update, or NaN when it was not computed
/// (learning-rate rule without adaptive damping).</param>
/// <param name="ReductionRatio">ρ of the damping adaptation that this step completed, or NaN when none was completed.</param>
/// <param name="ClipScale">The factor the update was scaled by (KL clipping, norm clipping); 1 when nothing was clipped.</param>
/// <param name="UpdateNorm">The Euclidean norm of the applied update δ.</param>
/// <param name="StatisticsUpdated">True when the step folded new layer observations into the curvature statistics.</param>
/// <param name="Refreshed">True when the step recomputed (or, in background mode, swapped in) an inverse or eigenbasis.</param>
public readonly record struct StepResult(
    long Step,
    double LearningRate,
    double Momentum,
    double Damping,
    double PredictedChange,
    double ReductionRatio,
    double ClipScale,
    double UpdateNorm,
    bool StatisticsUpdated,
    bool Refreshed);
