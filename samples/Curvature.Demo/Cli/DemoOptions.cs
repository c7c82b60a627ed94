using System.Globalization;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Tasks;
using Curvature.Native;

namespace Curvature.Demo.Cli;

/// <summary>The demo's command-line options.</summary>
public sealed record DemoOptions
{
    /// <summary>Seed when <c>--seed</c> is not given.</summary>
    public const int DefaultSeed = 1;

    /// <summary>Output folder when <c>--out</c> is not given.</summary>
    public const string DefaultOutputDirectory = "artifacts/demo";

    /// <summary>Threads when <c>--threads</c> is not given.</summary>
    public const int DefaultThreads = 1;

    /// <summary>The backend of the curvature optimizers' matrix work.</summary>
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;

    /// <summary>Task keys, in run order.</summary>
    public IReadOnlyList<string> Tasks { get; init; } = [.. DemoTasks.All.Select(t => t.Key)];

    /// <summary>Optimizer keys to compare, in table order.</summary>
    public IReadOnlyList<string> Optimizers { get; init; } = OptimizerCatalog.DefaultKeys;

    /// <summary>Wall-clock budget per optimizer, by task key (tasks not listed use their default).</summary>
    public IReadOnlyDictionary<string, double> Budgets { get; init; } = new Dictionary<string, double>();

    /// <summary>Target training loss, by task key (tasks not listed use their default).</summary>
    public IReadOnlyDictionary<string, double> Targets { get; init; } = new Dictionary<string, double>();

    /// <summary>Step cap per optimizer (null: the budget alone ends a run).</summary>
    public long? Steps { get; init; }

    /// <summary>Seed of the initial parameters and the batch order.</summary>
    public int Seed { get; init; } = DefaultSeed;

    /// <summary>Examples per step (null: each task's default).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Threads of libtorch's intra-op pool and of the Curvature backend.</summary>
    public int Threads { get; init; } = DefaultThreads;

    /// <summary>Where the JSON report goes (null: none).</summary>
    public string? JsonPath { get; init; }

    /// <summary>Where the CSV and PNG go.</summary>
    public string OutputDirectory { get; init; } = DefaultOutputDirectory;

    /// <summary>Where the Fashion-MNIST IDX files are (null: Debian's location).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Training images to use (the first ones; null: all).</summary>
    public int? TrainSize { get; init; }

    /// <summary>Test images to use (the first ones; null: all).</summary>
    public int? TestSize { get; init; }

    /// <summary>Images of the training subset the training loss is evaluated on.</summary>
    public int EvaluationSize { get; init; } = 500;

    /// <summary>Evaluations per run after the initial one.</summary>
    public int Evaluations { get; init; } = 25;

    /// <summary>When set, the learning rate of every selected optimizer (for tuning).</summary>
    public double? LearningRate { get; init; }

    /// <summary>Whether to time the Adam step against PyTorch instead of training (<c>--compare-pytorch</c>).</summary>
    public bool ComparePyTorch { get; init; }

    /// <summary>Alternations of the PyTorch comparison.</summary>
    public int CompareRounds { get; init; } = 80;

    /// <summary>Steps per chunk of the PyTorch comparison.</summary>
    public int CompareChunk { get; init; } = 5;

    /// <summary>The Python interpreter with PyTorch.</summary>
    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>The PyTorch peer script (null: found from the repository root).</summary>
    public string? PeerScript { get; init; }

    /// <summary>Whether <c>--help</c> was asked for.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>The usage text.</summary>
    public static string Usage =>
        $"""
        Curvature demo: trains a deep autoencoder and a CNN classifier on Fashion-MNIST (TorchSharp models) with SGD,
        Adam and Curvature's K-FAC, EKFAC and AdaFisher, each from the same initial weights, on the same batches, for the
        same wall-clock budget; prints a table and writes curves (CSV), a plot (PNG) and optionally a JSON report.

        Usage: Curvature.Demo [options]
          --task LIST          {string.Join(" | ", DemoTasks.All.Select(t => t.Key))} | all, comma-separated  (default: all)
          --optimizers LIST    comma-separated, or 'all'  (default: all)
                               {string.Join("\n                       ", OptimizerCatalog.All.Select(d => $"{d.Key,-10} {d.DisplayName}"))}
          --budget SECONDS     training wall-clock seconds per optimizer, for every task, or per task as
                               autoencoder=30,cnn=20  (defaults: {string.Join(", ", DemoTasks.All.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.DefaultBudgetSeconds:0.#}")))})
          --target LOSS        the training loss whose first crossing is timed, for every task, or per task as
                               autoencoder=0.38,cnn=0.35  (defaults: {string.Join(", ", DemoTasks.All.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.DefaultTargetLoss:0.###}")))})
          --steps N            at most N steps per optimizer (default: no cap; the budget ends each run)
          --seed N             seed of the initial weights and the batch order  (default: {DefaultSeed})
          --batch-size N       examples per step  (default: {string.Join(", ", DemoTasks.All.Select(t => $"{t.Key} {t.DefaultBatchSize}"))})
          --threads N          threads of libtorch and of the Curvature backend, 1..256  (default: {DefaultThreads})
          --json PATH          also write a JSON report (schema: samples/Curvature.Demo/README.md)
          --out DIR            folder of curves.csv and curves.png  (default: {DefaultOutputDirectory})
          --backend NAME       Curvature backend: auto | managed | openblas | mkl  (default: $CURVATURE_BACKEND, else auto)
          --data-dir DIR       folder of the Fashion-MNIST IDX files  (default: /usr/share/datasets/fashion-mnist)
          --train-size N       use only the first N training images  (default: all 60000)
          --test-size N        use only the first N test images  (default: all 10000)
          --eval-size N        training images the training loss is evaluated on  (default: 500)
          --evaluations N      evaluations per run, spread over the budget  (default: 25)
          --lr LR              learning rate of every selected optimizer (for tuning; default: each one's own)
          --compare-pytorch    instead of training: time the Adam step through TorchSharp against the same step in
                               PyTorch (benchmarks/peers/torch_fashion_mnist.py), alternating chunks in one run
          --compare-rounds N   alternations  (default: 80)
          --compare-chunk N    steps per chunk  (default: 5)
          --python PATH        Python with PyTorch  (default: /usr/bin/python3)
          --peer-script PATH   the PyTorch peer script  (default: found from the repository root)
          -h, --help           show this help
        """;

    /// <summary>Parses the command line; <c>--name value</c> and <c>--name=value</c> are both accepted.</summary>
    /// <exception cref="DemoUsageException">An unknown option, a missing or bad value.</exception>
    public static DemoOptions Parse(IReadOnlyList<string> args, string? backendEnvironment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new DemoOptions();
        if (!string.IsNullOrWhiteSpace(backendEnvironment))
        {
            options = options with { Backend = ParseBackend(backendEnvironment, $"{BackendSelector.EnvironmentVariable}={backendEnvironment}") };
        }

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                options = options with { ShowHelp = true };
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new DemoUsageException($"Unexpected argument '{arg}'. Options start with '--'; see --help.");
            }

            string name = arg;
            string? value = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }

            string Value()
            {
                if (value is not null)
                {
                    return value;
                }

                if (i + 1 >= args.Count)
                {
                    throw new DemoUsageException($"Option {name} needs a value; see --help.");
                }

                return args[++i];
            }

            void NoValue()
            {
                if (value is not null)
                {
                    throw new DemoUsageException($"Option {name} takes no value; see --help.");
                }
            }

            switch (name)
            {
                case "--task":
                case "--tasks":
                    options = options with { Tasks = ParseTasks(Value()) };
                    break;
                case "--optimizers":
                    options = options with { Optimizers = ParseOptimizers(Value()) };
                    break;
                case "--budget":
                    options = options with { Budgets = ParsePerTask(name, Value(), 0.001, 86_400) };
                    break;
                case "--target":
                    options = options with { Targets = ParsePerTask(name, Value(), 1e-9, 1e9) };
                    break;
                case "--steps":
                    options = options with { Steps = ParseInt(name, Value(), 1, 10_000_000) };
                    break;
                case "--seed":
                    options = options with { Seed = ParseInt(name, Value(), int.MinValue, int.MaxValue) };
                    break;
                case "--batch-size":
                    options = options with { BatchSize = ParseInt(name, Value(), 1, 60_000) };
                    break;
                case "--threads":
                    options = options with { Threads = ParseInt(name, Value(), 1, 256) };
                    break;
                case "--json":
                    options = options with { JsonPath = ParsePath(name, Value()) };
                    break;
                case "--out":
                    options = options with { OutputDirectory = ParsePath(name, Value()) };
                    break;
                case "--backend":
                    options = options with { Backend = ParseBackend(Value(), "--backend") };
                    break;
                case "--data-dir":
                    options = options with { DataDirectory = ParsePath(name, Value()) };
                    break;
                case "--train-size":
                    options = options with { TrainSize = ParseInt(name, Value(), 1, 60_000) };
                    break;
                case "--test-size":
                    options = options with { TestSize = ParseInt(name, Value(), 1, 10_000) };
                    break;
                case "--eval-size":
                    options = options with { EvaluationSize = ParseInt(name, Value(), 1, 60_000) };
                    break;
                case "--evaluations":
                    options = options with { Evaluations = ParseInt(name, Value(), 1, 10_000) };
                    break;
                case "--lr":
                    options = options with { LearningRate = ParseDouble(name, Value(), 1e-12, 1e6) };
                    break;
                case "--compare-pytorch":
                    NoValue();
                    options = options with { ComparePyTorch = true };
                    break;
                case "--compare-rounds":
                    options = options with { CompareRounds = ParseInt(name, Value(), 1, 10_000) };
                    break;
                case "--compare-chunk":
                    options = options with { CompareChunk = ParseInt(name, Value(), 1, 100_000) };
                    break;
                case "--python":
                    options = options with { Python = ParsePath(name, Value()) };
                    break;
                case "--peer-script":
                    options = options with { PeerScript = ParsePath(name, Value()) };
                    break;
                default:
                    throw new DemoUsageException($"Unknown option '{name}'; see --help.");
            }
        }

        return options;
    }

    /// <summary>The budget of <paramref name="task"/>: <c>--budget</c>'s value for it, else the task's default.</summary>
    public double BudgetFor(DemoTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return Budgets.TryGetValue(task.Key, out double seconds) ? seconds : task.DefaultBudgetSeconds;
    }

    /// <summary>The target training loss of <paramref name="task"/>: <c>--target</c>'s value for it, else the task's default.</summary>
    public double TargetFor(DemoTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return Targets.TryGetValue(task.Key, out double loss) ? loss : task.DefaultTargetLoss;
    }

    private static BackendChoice ParseBackend(string value, string source)
    {
        try
        {
            return BackendSelector.Parse(value);
        }
        catch (ArgumentException)
        {
            throw new DemoUsageException($"Bad value for {source}: '{value}'. Expected auto, managed, openblas or mkl.");
        }
    }

    private static IReadOnlyList<string> ParseTasks(string value)
    {
        string[] keys = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (keys.Length == 0)
        {
            throw new DemoUsageException("--task needs at least one name; see --help.");
        }

        if (keys is ["all"])
        {
            return [.. DemoTasks.All.Select(t => t.Key)];
        }

        var result = new List<string>();
        foreach (string key in keys)
        {
            var task = DemoTasks.Find(key)
                ?? throw new DemoUsageException($"Unknown task '{key}'. Known: {string.Join(", ", DemoTasks.All.Select(t => t.Key))}.");
            if (!result.Contains(task.Key))
            {
                result.Add(task.Key);
            }
        }

        return result;
    }

    private static IReadOnlyList<string> ParseOptimizers(string value)
    {
        string[] keys = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (keys.Length == 0)
        {
            throw new DemoUsageException("--optimizers needs at least one name; see --help.");
        }

        if (keys is ["all"])
        {
            return OptimizerCatalog.DefaultKeys;
        }

        var result = new List<string>();
        foreach (string key in keys)
        {
            var definition = OptimizerCatalog.Find(key)
                ?? throw new DemoUsageException($"Unknown optimizer '{key}'. Known: {string.Join(", ", OptimizerCatalog.All.Select(d => d.Key))}.");
            if (!result.Contains(definition.Key))
            {
                result.Add(definition.Key);
            }
        }

        return result;
    }

    /// <summary>A number for every task (<c>VALUE</c>) or for some (<c>TASK=VALUE,…</c>).</summary>
    private static IReadOnlyDictionary<string, double> ParsePerTask(string name, string value, double min, double max)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!value.Contains('=', StringComparison.Ordinal))
        {
            double number = ParseDouble(name, value, min, max);
            foreach (var task in DemoTasks.All)
            {
                values[task.Key] = number;
            }

            return values;
        }

        foreach (string part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            var task = pair.Length == 2 ? DemoTasks.Find(pair[0]) : null;
            if (task is null)
            {
                throw new DemoUsageException($"Bad value for {name}: '{part}'. Expected a number or TASK=NUMBER with a task of {string.Join(", ", DemoTasks.All.Select(t => t.Key))}.");
            }

            values[task.Key] = ParseDouble(name, pair[1], min, max);
        }

        return values;
    }

    private static int ParseInt(string name, string value, int min, int max)
    {
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int result) || result < min || result > max)
        {
            string range = min == int.MinValue ? "an integer" : $"an integer from {min} to {max}";
            throw new DemoUsageException($"Bad value for {name}: '{value}'. Expected {range}.");
        }

        return result;
    }

    private static double ParseDouble(string name, string value, double min, double max)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double result) || !(result >= min && result <= max))
        {
            throw new DemoUsageException(string.Create(CultureInfo.InvariantCulture, $"Bad value for {name}: '{value}'. Expected a number from {min:g} to {max:g}."));
        }

        return result;
    }

    private static string ParsePath(string name, string value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            throw new DemoUsageException($"Bad value for {name}: '{value}'. Expected a path.");
        }

        return value;
    }
}
