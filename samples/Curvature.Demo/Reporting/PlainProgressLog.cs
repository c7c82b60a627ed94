using System.Globalization;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>Progress as plain lines (for redirected output and logs): at 25 %, 50 %, 75 % and at the end of each run.</summary>
public sealed class PlainProgressLog(TextWriter output) : IRunProgress
{
    private string _label = "";
    private int _steps;
    private int _nextQuarter;

    /// <inheritdoc />
    public void Start(string task, string optimizer, int steps)
    {
        _label = $"{task} / {optimizer}";
        _steps = steps;
        _nextQuarter = 1;
        output.WriteLine($"  {_label}: {steps} steps");
    }

    /// <inheritdoc />
    public void Report(int step, double batchLoss, double seconds)
    {
        if (_nextQuarter < 4 && step >= _nextQuarter * _steps / 4.0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    step {step,5}/{_steps}  batch loss {batchLoss:0.0000}  {seconds:0.0} s"));
            _nextQuarter++;
        }
    }

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        string status = result.Diverged
            ? $"diverged at step {result.Steps}"
            : string.Create(CultureInfo.InvariantCulture, $"done: train loss {result.Final.TrainLoss:0.0000}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {status} in {result.TrainingSeconds:0.0} s"));
        output.Flush();
    }
}
