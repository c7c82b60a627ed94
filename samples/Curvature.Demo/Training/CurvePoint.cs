namespace Curvature.Demo.Training;

/// <summary>One row of a training curve.</summary>
/// <param name="Step">Steps completed (0 = initial model).</param>
/// <param name="Seconds">Training wall time so far (optimizer steps only; evaluations are not counted).</param>
/// <param name="BatchLoss">Mean loss of this step's batch before the update (NaN at step 0).</param>
/// <param name="TrainLoss">Loss on the whole training set after the step, on evaluation steps (NaN otherwise).</param>
/// <param name="TestLoss">Loss on the test set, on evaluation steps (NaN otherwise).</param>
/// <param name="TestAccuracy">Test accuracy for classifiers, on evaluation steps (NaN otherwise).</param>
public readonly record struct CurvePoint(int Step, double Seconds, double BatchLoss, double TrainLoss, double TestLoss, double TestAccuracy)
{
    /// <summary>Whether the model was evaluated at this point.</summary>
    public bool IsEvaluation => !double.IsNaN(TrainLoss);
}
