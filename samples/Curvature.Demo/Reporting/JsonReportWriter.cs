using System.Text.Json;
using Curvature.Demo.Training;

namespace Curvature.Demo.Reporting;

/// <summary>
/// Writes the machine-readable report of <c>--json PATH</c>; the schema is documented in the demo's README
/// ("JSON output"). Numbers that were not measured or are not finite are written as <c>null</c>.
/// </summary>
public static class JsonReportWriter
{
    /// <summary>The value of the top-level <c>schema</c> field; changes when a field changes meaning or goes away.</summary>
    public const string Schema = "curvature-demo/1";

    /// <summary>Writes the report to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyList<string> commandLine, RunEnvironment environment, IReadOnlyList<TaskResults> tasks, double totalSeconds)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(tasks);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("schema", Schema);
        json.WriteStartArray("arguments");
        foreach (string arg in commandLine)
        {
            json.WriteStringValue(arg);
        }

        json.WriteEndArray();
        json.WriteString("backend", environment.BackendName);
        json.WriteString("backend_description", environment.Backend);
        json.WriteString("torch", environment.Torch);
        json.WriteNumber("threads", environment.Threads);
        json.WriteNumber("processors", environment.ProcessorCount);
        WriteNumbers(json, "load_average_before", environment.LoadAverageBefore);
        WriteNumbers(json, "load_average_after", RunEnvironment.LoadAverage());
        json.WriteNumber("total_seconds", totalSeconds);
        json.WriteStartArray("tasks");
        foreach (var task in tasks)
        {
            WriteTask(json, task);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteTask(Utf8JsonWriter json, TaskResults results)
    {
        var task = results.Task;
        var plan = results.Plan;
        json.WriteStartObject();
        json.WriteString("task", task.Key);
        json.WriteString("title", task.Title);
        json.WriteString("architecture", task.Architecture);
        json.WriteNumber("parameters", results.ParameterCount);
        json.WriteString("loss", task.LossDescription);
        json.WriteBoolean("classifier", task.IsClassifier);
        json.WriteNumber("batch_size", plan.BatchSize);
        json.WriteNumber("budget_seconds", plan.BudgetSeconds);
        if (plan.StepCap is long cap)
        {
            json.WriteNumber("step_cap", cap);
        }
        else
        {
            json.WriteNull("step_cap");
        }

        json.WriteNumber("seed", plan.Seed);
        json.WriteNumber("target_loss", plan.TargetLoss);
        json.WriteNumber("train_evaluation_images", results.TrainEvaluationCount);
        json.WriteNumber("test_images", results.TestCount);
        json.WriteStartArray("runs");
        foreach (var run in results.Runs)
        {
            WriteRun(json, run);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteRun(Utf8JsonWriter json, RunResult run)
    {
        json.WriteStartObject();
        json.WriteString("optimizer", run.OptimizerKey);
        json.WriteString("name", run.OptimizerName);
        json.WriteString("settings", run.Settings);
        json.WriteNumber("steps", run.Steps);
        WriteNumber(json, "train_seconds", run.TrainingSeconds);
        WriteNumber(json, "wall_seconds", run.WallSeconds);
        WriteNumber(json, "ms_per_step", run.MillisecondsPerStep);
        json.WriteString("stopped_by", run.StopReason switch
        {
            StopReason.Budget => "budget",
            StopReason.StepCap => "step_cap",
            _ => "diverged",
        });
        json.WriteBoolean("diverged", run.Diverged);
        if (run.DivergenceReason is string reason)
        {
            json.WriteString("divergence", reason);
        }
        else
        {
            json.WriteNull("divergence");
        }

        json.WriteStartObject("final");
        WriteNumber(json, "train_loss", run.FinalTrainLoss);
        WriteNumber(json, "test_loss", run.FinalTestLoss);
        WriteNumber(json, "test_accuracy", run.FinalTestAccuracy);
        json.WriteEndObject();
        json.WriteStartObject("target");
        if (run.StepsToTarget is long steps)
        {
            json.WriteNumber("steps", steps);
        }
        else
        {
            json.WriteNull("steps");
        }

        WriteNumber(json, "seconds", run.SecondsToTarget ?? double.NaN);
        json.WriteEndObject();
        WriteNumbers(json, "step_loss", run.StepLosses);
        WriteNumbers(json, "step_seconds", run.StepSeconds);
        json.WriteStartArray("evaluations");
        foreach (var e in run.Evaluations)
        {
            json.WriteStartObject();
            json.WriteNumber("step", e.Step);
            WriteNumber(json, "seconds", e.Seconds);
            WriteNumber(json, "train_loss", e.TrainLoss);
            WriteNumber(json, "test_loss", e.TestLoss);
            WriteNumber(json, "test_accuracy", e.TestAccuracy);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteNumbers(Utf8JsonWriter json, string name, IReadOnlyList<double> values)
    {
        json.WriteStartArray(name);
        foreach (double value in values)
        {
            if (double.IsFinite(value))
            {
                json.WriteNumberValue(value);
            }
            else
            {
                json.WriteNullValue();
            }
        }

        json.WriteEndArray();
    }
}
