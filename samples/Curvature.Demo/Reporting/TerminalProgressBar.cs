using System.Diagnostics;
using System.Globalization;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>A live, in-place progress bar for an interactive terminal (redrawn at most ten times a second).</summary>
public sealed class TerminalProgressBar(TextWriter output) : IRunProgress
{
    private const int BarWidth = 28;
    private readonly Stopwatch _sinceDraw = new();
    private string _label = "";
    private int _steps;
    private int _lastWidth;

    /// <inheritdoc />
    public void Start(string task, string optimizer, int steps)
    {
        _label = $"{task,-11} {optimizer,-13}";
        _steps = steps;
        _sinceDraw.Restart();
        Draw(0, double.NaN, 0);
    }

    /// <inheritdoc />
    public void Report(int step, double batchLoss, double seconds)
    {
        if (_sinceDraw.ElapsedMilliseconds >= 100 || step == _steps)
        {
            Draw(step, batchLoss, seconds);
            _sinceDraw.Restart();
        }
    }

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        var final = result.Final;
        string status = result.Diverged ? "DIVERGED" : string.Create(CultureInfo.InvariantCulture, $"train loss {final.TrainLoss:0.0000}");
        Write(string.Create(CultureInfo.InvariantCulture, $"  {_label} [{new string('#', BarWidth)}] {result.Steps,5}/{_steps}  {status}  {result.TrainingSeconds,6:0.0} s"));
        output.WriteLine();
        output.Flush();
        _lastWidth = 0;
    }

    private void Draw(int step, double batchLoss, double seconds)
    {
        int filled = _steps == 0 ? BarWidth : (int)((long)step * BarWidth / _steps);
        string loss = double.IsNaN(batchLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $"batch loss {batchLoss:0.0000}");
        Write(string.Create(CultureInfo.InvariantCulture, $"  {_label} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {step,5}/{_steps}  {loss}  {seconds,6:0.0} s"));
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
