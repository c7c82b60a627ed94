using System.Diagnostics;
using System.Globalization;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>A live, in-place progress bar for an interactive terminal (redrawn at most ten times a second).</summary>
public sealed class TerminalProgressBar(TextWriter output) : IRunProgress
{
    private const int BarWidth = 28;
    private readonly Stopwatch _sinceDraw = new();
    private TrainingPlan? _plan;
    private string _label = "";
    private int _lastWidth;

    /// <inheritdoc />
    public void Start(string task, string optimizer, TrainingPlan plan)
    {
        _plan = plan;
        _label = $"{task,-11} {optimizer,-13}";
        _sinceDraw.Restart();
        Draw(0, double.NaN, 0);
    }

    /// <inheritdoc />
    public void Report(long step, double batchLoss, double seconds)
    {
        if (_sinceDraw.ElapsedMilliseconds >= 100)
        {
            Draw(step, batchLoss, seconds);
            _sinceDraw.Restart();
        }
    }

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        string status = result.Diverged ? "DIVERGED" : string.Create(CultureInfo.InvariantCulture, $"train loss {result.FinalTrainLoss:0.0000}");
        Write(string.Create(CultureInfo.InvariantCulture, $"  {_label} [{new string('#', BarWidth)}] {result.Steps,6} steps  {status}  {result.TrainingSeconds,5:0.0} s"));
        output.WriteLine();
        output.Flush();
        _lastWidth = 0;
    }

    private void Draw(long step, double batchLoss, double seconds)
    {
        int filled = _plan is null ? 0 : (int)(ProgressFraction.Of(_plan, step, seconds) * BarWidth);
        string loss = double.IsNaN(batchLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $"batch loss {batchLoss:0.0000}");
        Write(string.Create(CultureInfo.InvariantCulture, $"  {_label} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {step,6} steps  {loss}  {seconds,5:0.0} s"));
        output.Flush();
    }

    private void Write(string line)
    {
        output.Write('\r');
        output.Write(line);
        if (line.Length < _lastWidth)
        {
            output.Write(new string(' ', _lastWidth - line.Length));
        }

        _lastWidth = line.Length;
    }
}
