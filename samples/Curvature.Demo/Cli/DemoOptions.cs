using System.Globalization;
using Curvature.Demo.Optimizers;
using Curvature.Native;

namespace Curvature.Demo.Cli;

/// <summary>The demo's command-line options.</summary>
public sealed record DemoOptions
{
    /// <summary>Steps per optimizer and task when <c>--steps</c> is not given.</summary>
    public const int DefaultSteps = 100;

    /// <summary>Seed when <c>--seed</c> is not given.</summary>
    public const int DefaultSeed = 1;

    /// <summary>Output folder when <c>--out</c> is not given.</summary>
    public const string DefaultOutputDirectory = "artifacts/demo";

    /// <summary>The backend doing the matrix products.</summary>
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;

    /// <summary>Optimizer keys to compare, in table order.</summary>
    public IReadOnlyList<string> Optimizers { get; init; } = OptimizerCatalog.DefaultKeys;

    /// <summary>Steps per optimizer and task.</summary>
    public int Steps { get; init; } = DefaultSteps;

    /// <summary>Seed of data, initialisation and batch order.</summary>
    public int Seed { get; init; } = DefaultSeed;

    /// <summary>Where the CSV and PNG go.</summary>
    public string OutputDirectory { get; init; } = DefaultOutputDirectory;

    /// <summary>Threads per backend call.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Whether <c>--help</c> was asked for.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>The usage text.</summary>
    public static string Usage =>
        $"""
        Curvature demo: trains a deep autoencoder and an MLP classifier on built-in synthetic data with each optimizer,
        from the same initial weights and batches, then prints a table and writes curves (CSV) and a plot (PNG).

        Usage: Curvature.Demo [options]
          --backend NAME       auto | managed | openblas | mkl  (default: $CURVATURE_BACKEND, else auto)
          --optimizers LIST    comma-separated, or 'all'  (default: all available)
                               {string.Join("\n                       ", OptimizerCatalog.All.Select(d => $"{d.Key,-10} {d.DisplayName}{(d.IsAvailable ? "" : "  (not wired in yet)")}"))}
          --steps N            training steps per optimizer and task, 1..100000  (default: {DefaultSteps})
          --seed N             seed of data, initial weights and batch order  (default: {DefaultSeed})
          --out DIR            output folder for curves.csv and curves.png  (default: {DefaultOutputDirectory})
          --threads N          threads per backend call, 1..256  (default: 1)
          -h, --help           show this help
        """;

    /// <summary>Parses the command line; <c>--name value</c> and <c>--name=value</c> are both accepted.</summary>
    /// <exception cref="DemoUsageException">An unknown option, a missing or bad value.</exception>
    public static DemoOptions Parse(IReadOnlyList<string> args, string? backendEnvironment = null)
    {
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

            options = name switch
            {
                "--backend" => options with { Backend = ParseBackend(Value(), "--backend") },
                "--optimizers" => options with { Optimizers = ParseOptimizers(Value()) },
                "--steps" => options with { Steps = ParseInt(name, Value(), 1, 100_000) },
                "--seed" => options with { Seed = ParseInt(name, Value(), int.MinValue, int.MaxValue) },
                "--out" => options with { OutputDirectory = ParseDirectory(Value()) },
                "--threads" => options with { Threads = ParseInt(name, Value(), 1, 256) },
                _ => throw new DemoUsageException($"Unknown option '{name}'; see --help."),
            };
        }

        return options;
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
            if (!definition.IsAvailable)
            {
                throw new DemoUsageException(definition.Note ?? $"{definition.DisplayName} is not available.");
            }

            if (!result.Contains(definition.Key))
            {
                result.Add(definition.Key);
            }
        }

        return result;
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

    private static string ParseDirectory(string value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            throw new DemoUsageException($"Bad value for --out: '{value}'. Expected a folder path.");
        }

        return value;
    }
}
