using System.Diagnostics;
using System.Globalization;
using System.Text;
using Curvature.Backends;
using Curvature.Demo.Cli;
using Curvature.Demo.Data;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Tasks;
using Curvature.Demo.Training;
using static TorchSharp.torch;

namespace Curvature.Demo.Comparison;

/// <summary>
/// <c>--compare-pytorch</c>: the per-step time of the demo's Adam step through TorchSharp against the same step in
/// PyTorch (the peer script, same model, loss, batch size, learning rate and thread count), measured in one run by
/// alternating chunks of steps between this process and the peer (ABBA order, so drifting load from other processes
/// falls on both), and summarised as the median over rounds of the ratio of the two chunks' median step times.
/// </summary>
public static class AdamStepComparison
{
    /// <summary>Where the table is written inside the output folder.</summary>
    public const string TableFileName = "pytorch-comparison.md";

    /// <summary>Runs the comparison for every task and prints (and writes) the table.</summary>
    /// <returns>The exit code.</returns>
    public static int Run(DemoOptions options, IReadOnlyList<DemoTask> tasks, DemoData data, CurvatureBackend backend, string outputDirectory, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(output);
        string script = PyTorchPeer.LocateScript(options.PeerScript);
        var environment = DemoApp.DescribeEnvironment(backend, options.Threads);
        output.WriteLine($"Adam step, {environment.Torch} in this process against PyTorch ({PyTorchPeer.ScriptInRepository}):");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{options.CompareRounds} rounds of {options.CompareChunk} steps on each side, alternating (ABBA), after {Math.Max(options.CompareChunk, 20)} warm-up steps on each side; {options.Threads} thread(s) on both sides"));
        var rows = new List<string>();
        string? pytorchVersion = null;
        foreach (var task in tasks)
        {
            var (row, version) = Compare(task, options, data, backend, script, output);
            rows.Add(row);
            pytorchVersion ??= version;
        }

        var table = new StringBuilder();
        table.Append("| task | batch | threads | TorchSharp ms/step | PyTorch ms/step | TorchSharp / PyTorch | range over rounds | TorchSharp CPU ms/step | PyTorch CPU ms/step | CPU ratio | within 1.2× |\n");
        table.Append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (string row in rows)
        {
            table.Append(row).Append('\n');
        }

        table.Append('\n');
        table.Append(string.Create(CultureInfo.InvariantCulture,
            $"ms/step: median over all timed steps of a side (wall time; CPU: the process's CPU time during the step, all threads). Ratios: median over rounds of the ratio of the two sides' median step times in the round; 'within 1.2×' judges the wall-time ratio. {environment.Torch} against PyTorch {pytorchVersion} (Debian python3-torch); "));
        table.Append(string.Create(CultureInfo.InvariantCulture,
            $"{options.CompareRounds} rounds × {options.CompareChunk} steps per side; {environment.ProcessorCount} logical processors, load average {string.Join(" ", environment.LoadAverageBefore)} before, {string.Join(" ", RunEnvironment.LoadAverage())} after.\n"));
        output.WriteLine();
        output.Write(table.ToString());
        string path = Path.Combine(outputDirectory, TableFileName);
        File.WriteAllText(path, table.ToString());
        output.WriteLine($"Table: {path}");
        return DemoApp.Success;
    }

    private static (string Row, string? PyTorchVersion) Compare(DemoTask task, DemoOptions options, DemoData data, CurvatureBackend backend, string script, TextWriter output)
    {
        var plan = new TrainingPlan { BatchSize = options.BatchSize ?? task.DefaultBatchSize, BudgetSeconds = double.PositiveInfinity, TargetLoss = 0, Seed = options.Seed };
        using var trainer = new Trainer(task, data, plan, backend);
        using var model = trainer.CreateInitialModel();
        using var adam = TorchOptimizerMethod.Adam(new TrainingSetup(task, model, backend, options.Seed, options.LearningRate));
        double lr = options.LearningRate ?? task.AdamLearningRate;
        var arguments = new List<string>
        {
            "--model", task is CnnTask ? "cnn" : "ae",
            "--batch-size", plan.BatchSize.ToString(CultureInfo.InvariantCulture),
            "--threads", options.Threads.ToString(CultureInfo.InvariantCulture),
            "--lr", lr.ToString("R", CultureInfo.InvariantCulture),
            "--seed", options.Seed.ToString(CultureInfo.InvariantCulture),
            "--data-dir", data.Directory,
            "--reduction", "mean",
            "--channels", $"{CnnTask.Channels1},{CnnTask.Channels2}",
            "--kernel", CnnTask.Kernel.ToString(CultureInfo.InvariantCulture),
        };
        output.WriteLine($"  {task.Key}: starting the PyTorch peer…");
        using var peer = PyTorchPeer.Start(options.Python, script, arguments);
        long step = 0;
        var clock = new Stopwatch();

        (double[] Wall, double[] Cpu) TorchSharpChunk(int steps)
        {
            var wall = new double[steps];
            var cpu = new double[steps];
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                var batch = trainer.Batch(step++);
                double cpu0 = ProcessCpuClock.Seconds();
                clock.Restart();
                adam.Step(batch);
                clock.Stop();
                cpu[i] = 1000 * (ProcessCpuClock.Seconds() - cpu0);
                wall[i] = clock.Elapsed.TotalMilliseconds;
            }

            return (wall, cpu);
        }

        int chunk = options.CompareChunk;
        TorchSharpChunk(Math.Max(chunk, 20)); // warm-up, not timed
        peer.RunSteps(Math.Max(chunk, 20));
        var wallTimes = (TorchSharp: new List<double>(), PyTorch: new List<double>());
        var cpuTimes = (TorchSharp: new List<double>(), PyTorch: new List<double>());
        var wallRatios = new List<double>();
        var cpuRatios = new List<double>();
        for (int round = 0; round < options.CompareRounds; round++)
        {
            (double[] Wall, double[] Cpu) a, b;
            if (round % 2 == 0)
            {
                a = TorchSharpChunk(chunk);
                b = peer.RunSteps(chunk);
            }
            else
            {
                b = peer.RunSteps(chunk);
                a = TorchSharpChunk(chunk);
            }

            wallTimes.TorchSharp.AddRange(a.Wall);
            wallTimes.PyTorch.AddRange(b.Wall);
            cpuTimes.TorchSharp.AddRange(a.Cpu);
            cpuTimes.PyTorch.AddRange(b.Cpu);
            wallRatios.Add(Median(a.Wall) / Median(b.Wall));
            cpuRatios.Add(Median(a.Cpu) / Median(b.Cpu));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    round {round + 1,3}: TorchSharp {Median(a.Wall),7:0.00} ms/step (CPU {Median(a.Cpu),7:0.00}), PyTorch {Median(b.Wall),7:0.00} ms/step (CPU {Median(b.Cpu),7:0.00}), ratio {wallRatios[^1]:0.000} (CPU {cpuRatios[^1]:0.000})"));
        }

        double ratio = Median(wallRatios);
        string row = string.Create(CultureInfo.InvariantCulture,
            $"| {task.Key} | {plan.BatchSize} | {options.Threads} | {Median(wallTimes.TorchSharp):0.00} | {Median(wallTimes.PyTorch):0.00} | **{ratio:0.000}** | {wallRatios.Min():0.000} – {wallRatios.Max():0.000} | {Median(cpuTimes.TorchSharp):0.00} | {Median(cpuTimes.PyTorch):0.00} | {Median(cpuRatios):0.000} | {(ratio <= 1.2 ? "yes" : "no")} |");
        string? version = peer.Ready.TryGetProperty("torch", out var v) ? v.GetString() : null;
        return (row, version);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }
}
