using System.Diagnostics;
using System.Globalization;
using Curvature.Backends;
using Curvature.Demo.Cli;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Reporting;
using Curvature.Demo.Training;
using Curvature.Native;

namespace Curvature.Demo;

/// <summary>The demo's entry point, callable in-process (the tests do).</summary>
public static class DemoApp
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of an unexpected failure.</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a bad command line or an unusable environment (unknown backend, unavailable library…).</summary>
    public const int UsageError = 2;

    /// <summary>CSV file name inside the output folder.</summary>
    public const string CsvFileName = "curves.csv";

    /// <summary>PNG file name inside the output folder.</summary>
    public const string PlotFileName = "curves.png";

    /// <summary>Runs the demo.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where the progress, table and file locations go.</param>
    /// <param name="error">Where error messages go.</param>
    /// <param name="interactive">Whether <paramref name="output"/> is a terminal (live progress bar) or not (plain lines).</param>
    /// <param name="backendEnvironment">The value of <c>CURVATURE_BACKEND</c>, the default of <c>--backend</c>.</param>
    /// <returns>The process exit code.</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, bool interactive = false, string? backendEnvironment = null)
    {
        var total = Stopwatch.StartNew();
        DemoOptions options;
        CurvatureBackend backend;
        string outputDirectory;
        try
        {
            options = DemoOptions.Parse(args, backendEnvironment);
            if (options.ShowHelp)
            {
                output.WriteLine(DemoOptions.Usage);
                return Success;
            }

            backend = CreateBackend(options);
            outputDirectory = CreateOutputDirectory(options.OutputDirectory);
        }
        catch (DemoUsageException e)
        {
            error.WriteLine($"error: {e.Message}");
            return UsageError;
        }

        try
        {
            Run(options, backend, outputDirectory, output, interactive);
        }
        catch (IOException e)
        {
            error.WriteLine($"error: cannot write the results to '{outputDirectory}': {e.Message}");
            return Failure;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Total wall time: {total.Elapsed.TotalSeconds:0.0} s"));
        return Success;
    }

    private static void Run(DemoOptions options, CurvatureBackend backend, string outputDirectory, TextWriter output, bool interactive)
    {
        var definitions = options.Optimizers.Select(key => OptimizerCatalog.Find(key)!).ToArray();
        output.WriteLine("Curvature demo: the same networks, initial weights and batches, trained by each optimizer.");
        output.WriteLine($"Backend:    {backend.Describe()}");
        output.WriteLine($"Optimizers: {string.Join(", ", definitions.Select(d => d.DisplayName))}");
        var missing = OptimizerCatalog.All.Where(d => !d.IsAvailable).Select(d => d.DisplayName).ToArray();
        if (missing.Length > 0)
        {
            output.WriteLine($"            (not wired into the demo yet: {string.Join(", ", missing)})");
        }

        output.WriteLine($"Steps:      {options.Steps} per optimizer and task, seed {options.Seed}");
        IRunProgress progress = interactive ? new TerminalProgressBar(output) : new PlainProgressLog(output);

        var allResults = new List<(DemoTask Task, IReadOnlyList<RunResult> Results)>();
        foreach (var task in DemoTasks.All(options.Seed))
        {
            var trainer = new Trainer(task, backend, options.Steps, options.Seed);
            var probe = task.CreateModel(backend, 1).Network;
            output.WriteLine();
            output.WriteLine($"== {task.Title}: {probe.Describe()}, {probe.ParameterCount:N0} parameters, {(task.Loss == NeuralNet.LossKind.CrossEntropy ? "cross-entropy" : "mean squared error")} loss, batch {task.BatchSize}");
            output.WriteLine($"   data: {task.DataDescription}");
            output.WriteLine($"   {task.Baseline}");
            output.WriteLine($"   evaluated every {trainer.EvaluationInterval} steps on {Math.Min(Trainer.TrainEvaluationCount, task.Train.Count)} training examples and the whole test set");
            foreach (var definition in definitions)
            {
                trainer.WarmUp(definition);
            }

            var results = definitions.Select(d => trainer.Run(d, progress)).ToArray();
            output.WriteLine();
            output.Write(ResultsTable.Render(task, results));
            allResults.Add((task, results));
        }

        string csv = Path.Combine(outputDirectory, CsvFileName);
        string png = Path.Combine(outputDirectory, PlotFileName);
        CurveCsvWriter.Write(csv, allResults.SelectMany(t => t.Results));
        CurvePlotWriter.Write(png, allResults, backend.Name);
        output.WriteLine();
        output.WriteLine("Times count optimizer steps only (evaluations excluded); 'steps/time to X' is the first evaluation with train loss <= X.");
        output.WriteLine($"Curves: {csv}");
        output.WriteLine($"Plot:   {png}");
    }

    private static CurvatureBackend CreateBackend(DemoOptions options)
    {
        CurvatureBackend backend;
        try
        {
            backend = BackendSelector.Create(options.Backend);
        }
        catch (BackendUnavailableException e)
        {
            throw new DemoUsageException($"the {options.Backend} backend is unavailable: {e.Message} Try --backend managed.");
        }

        try
        {
            backend.SetThreadCount(options.Threads);
        }
        catch (ArgumentException e)
        {
            throw new DemoUsageException($"--threads {options.Threads} is not accepted by the {backend.Name} backend: {e.Message}");
        }

        return backend;
    }

    private static string CreateOutputDirectory(string path)
    {
        try
        {
            return Directory.CreateDirectory(path).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new DemoUsageException($"cannot create the output folder '{path}': {e.Message}");
        }
    }
}
