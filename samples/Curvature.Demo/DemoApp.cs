using System.Diagnostics;
using System.Globalization;
using Curvature.Backends;
using Curvature.Demo.Cli;
using Curvature.Demo.Comparison;
using Curvature.Demo.Data;
using Curvature.Demo.Data.Idx;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Reporting;
using Curvature.Demo.Tasks;
using Curvature.Demo.Training;
using Curvature.Native;
using TorchSharp;

namespace Curvature.Demo;

/// <summary>The demo's entry point, callable in-process (the tests do).</summary>
public static class DemoApp
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of an unexpected failure.</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a bad command line or an unusable environment (unknown backend, missing data set…).</summary>
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
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var total = Stopwatch.StartNew();
        DemoOptions options;
        CurvatureBackend backend;
        string outputDirectory;
        DemoData data;
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
            if (options.JsonPath is string json && Path.GetDirectoryName(Path.GetFullPath(json)) is string jsonDirectory)
            {
                CreateOutputDirectory(jsonDirectory);
            }

            data = LoadData(options);
        }
        catch (DemoUsageException e)
        {
            error.WriteLine($"error: {e.Message}");
            return UsageError;
        }

        using (data)
        {
            try
            {
                var tasks = options.Tasks.Select(key => DemoTasks.Find(key)!).ToArray();
                CheckBatchSizes(options, tasks, data);
                torch.set_num_threads(options.Threads);
                if (options.ComparePyTorch)
                {
                    return AdamStepComparison.Run(options, tasks, data, backend, outputDirectory, output);
                }

                Train(options, args, tasks, data, backend, outputDirectory, output, interactive, total);
            }
            catch (DemoUsageException e)
            {
                error.WriteLine($"error: {e.Message}");
                return UsageError;
            }
            catch (IOException e)
            {
                error.WriteLine($"error: cannot write the results: {e.Message}");
                return Failure;
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Total wall time: {total.Elapsed.TotalSeconds:0.0} s"));
        return Success;
    }

    /// <summary>The environment line of the table and the JSON report.</summary>
    public static RunEnvironment DescribeEnvironment(CurvatureBackend backend, int threads)
    {
        ArgumentNullException.ThrowIfNull(backend);
        string torchSharp = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?";
        return new RunEnvironment(backend.Describe(), backend.Name, $"TorchSharp {torchSharp} (libtorch {torch.__version__} CPU)", threads,
            Environment.ProcessorCount, RunEnvironment.LoadAverage());
    }

    private static void Train(DemoOptions options, IReadOnlyList<string> args, IReadOnlyList<DemoTask> tasks, DemoData data, CurvatureBackend backend,
        string outputDirectory, TextWriter output, bool interactive, Stopwatch total)
    {
        var definitions = options.Optimizers.Select(key => OptimizerCatalog.Find(key)!).ToArray();
        var environment = DescribeEnvironment(backend, options.Threads);
        output.WriteLine("Curvature demo: Fashion-MNIST, the same initial weights, batches and wall-clock budget for every optimizer.");
        output.WriteLine($"Models:     {environment.Torch}, float32; threads {options.Threads} (libtorch and Curvature)");
        output.WriteLine($"Curvature:  {environment.Backend}");
        output.WriteLine($"Optimizers: {string.Join(", ", definitions.Select(d => d.DisplayName))}");
        output.WriteLine($"Data:       {data.Directory}: {data.TrainCount} training / {data.TestCount} test images");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Machine:    {environment.ProcessorCount} logical processors, load average {string.Join(" ", environment.LoadAverageBefore)}"));
        IRunProgress progress = interactive ? new TerminalProgressBar(output) : new PlainProgressLog(output);
        var allResults = new List<TaskResults>();
        foreach (var task in tasks)
        {
            var plan = new TrainingPlan
            {
                BatchSize = options.BatchSize ?? task.DefaultBatchSize,
                BudgetSeconds = options.BudgetFor(task),
                TargetLoss = options.TargetFor(task),
                StepCap = options.Steps,
                Seed = options.Seed,
                Evaluations = options.Evaluations,
                EvaluationSize = options.EvaluationSize,
                LearningRate = options.LearningRate,
            };
            using var trainer = new Trainer(task, data, plan, backend);
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== {task.Title}: {task.Architecture}; {trainer.ParameterCount:N0} parameters"));
            output.WriteLine($"   loss: {task.LossDescription}; {task.Baseline}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   batch {plan.BatchSize}, {plan.BudgetSeconds:0.##} s of training per optimizer{(plan.StepCap is long cap ? $" (at most {cap} steps)" : "")}, seed {plan.Seed}; target training loss {plan.TargetLoss:0.###}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   training loss evaluated {plan.Evaluations} times per run on the first {trainer.TrainEvaluationCount} training images; test metrics at the end on {data.TestCount} test images"));
            foreach (var definition in definitions)
            {
                trainer.WarmUp(definition);
            }

            var runs = definitions.Select(d => trainer.Run(d, progress)).ToArray();
            var results = new TaskResults(task, plan, trainer.ParameterCount, trainer.TrainEvaluationCount, data.TestCount, runs);
            output.WriteLine();
            output.Write(ResultsTable.Render(results, environment));
            allResults.Add(results);
        }

        string csv = Path.Combine(outputDirectory, CsvFileName);
        string png = Path.Combine(outputDirectory, PlotFileName);
        CurveCsvWriter.Write(csv, allResults);
        CurvePlotWriter.Write(png, allResults, environment);
        output.WriteLine();
        output.WriteLine("Times count optimizer steps only (batch gathering and evaluations excluded); 'steps/time to X' is the first evaluation with training loss <= X.");
        output.WriteLine($"Curves: {csv}");
        output.WriteLine($"Plot:   {png}");
        if (options.JsonPath is string json)
        {
            JsonReportWriter.Write(json, args, environment, allResults, total.Elapsed.TotalSeconds);
            output.WriteLine($"JSON:   {Path.GetFullPath(json)}");
        }
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

    private static DemoData LoadData(DemoOptions options)
    {
        try
        {
            return DemoData.Load(options.DataDirectory, options.TrainSize, options.TestSize);
        }
        catch (IdxFileException e)
        {
            throw new DemoUsageException($"cannot read Fashion-MNIST: {e.Message}");
        }
    }

    private static void CheckBatchSizes(DemoOptions options, IEnumerable<DemoTask> tasks, DemoData data)
    {
        foreach (var task in tasks)
        {
            int batch = options.BatchSize ?? task.DefaultBatchSize;
            if (batch > data.TrainCount)
            {
                throw new DemoUsageException($"the batch size {batch} of the {task.Key} task exceeds the {data.TrainCount} training images in use.");
            }
        }
    }
}
