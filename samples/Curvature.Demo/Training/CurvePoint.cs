namespace Curvature.Demo.Training;

/// <summary>One evaluation of a run's model (outside the training clock).</summary>
/// <param name="Step">Steps completed (0 = the initial model).</param>
/// <param name="Seconds">Training wall time so far (optimizer steps only).</param>
/// <param name="TrainLoss">Mean loss on the fixed training-evaluation subset.</param>
/// <param name="TestLoss">Mean loss on the test set (the final evaluation only; NaN otherwise).</param>
/// <param name="TestAccuracy">Accuracy on the test set (the final evaluation of a classifier; NaN otherwise).</param>
public readonly record struct CurvePoint(long Step, double Seconds, double TrainLoss, double TestLoss, double TestAccuracy);
