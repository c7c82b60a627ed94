using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>How far a run is: the larger of the budget used and the step cap reached.</summary>
public static class ProgressFraction
{
    /// <summary>A number in [0, 1].</summary>
    public static double Of(TrainingPlan plan, long step, double seconds)
    {
        ArgumentNullException.ThrowIfNull(plan);
        double byTime = plan.BudgetSeconds > 0 ? seconds / plan.BudgetSeconds : 1;
        double bySteps = plan.StepCap is long cap && cap > 0 ? (double)step / cap : 0;
        return Math.Clamp(Math.Max(byTime, bySteps), 0, 1);
    }
}
