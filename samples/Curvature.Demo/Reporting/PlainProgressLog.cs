using System.Globalization;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>Progress as plain lines (for redirected output and logs): at each quarter of the budget and at the end of each run.</summary>
public sealed class PlainProgressLog(TextWriter output) : IRunProgress
{
    private TrainingPlan? _plan;
    private int _nextQuarter;

    /// <inheritdoc />
    public void Start(string task, string optimizer, TrainingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        _plan = plan;
        _nextQuarter = 1;
        string cap = plan.StepCap is long c ? string.Create(CultureInfo.InvariantCulture, $", at most {c} steps") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {task} / {optimizer}: {plan.BudgetSeconds:0.#} s budget{cap}"));
        output.Flush();
    }

    /// <inheritdoc />
    public void Report(long step, double batchLoss, double seconds)
    {
        if (_plan is null || _nextQuarter >= 4)
        {
            return;
        }

        double fraction = ProgressFraction.Of(_plan, step, seconds);
        if (fraction >= _nextQuarter / 4.0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    step {step,6}  batch loss {batchLoss:0.0000}  {seconds:0.0} s"));
            output.Flush();
            while (_nextQuarter < 4 && fraction >= _nextQuarter / 4.0)
            {
                _nextQuarter++;
            }
        }
    }

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        string status = result.Diverged
            ? $"diverged at step {result.Steps} ({result.DivergenceReason})"
            : string.Create(CultureInfo.InvariantCulture, $"done: {result.Steps} steps, train loss {result.FinalTrainLoss:0.0000}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {status} in {result.TrainingSeconds:0.0} s"));
        output.Flush();
    }
}
