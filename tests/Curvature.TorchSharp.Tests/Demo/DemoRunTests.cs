using System.Globalization;
using System.Text.Json;
using Curvature.Demo;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Reporting;
using Curvature.TorchSharp.Tests.TestKit;
using Xunit;

namespace Curvature.TorchSharp.Tests.Demo;

/// <summary>One tiny end-to-end run (both tasks, every available optimizer, 4 steps on generated data), shared by the tests.</summary>
public sealed class DemoRunFixture : IDisposable
{
    public const int Steps = 4;
    private readonly DemoTestData _data = new();

    public DemoRunFixture()
    {
        Output = Path.Combine(_data.Directory, "out");
        Json = Path.Combine(_data.Directory, "report.json");
        var output = new StringWriter();
        var error = new StringWriter();
        Exit = DemoApp.Run(["--data-dir", _data.Directory, "--out", Output, "--json", Json, "--steps", Steps.ToString(CultureInfo.InvariantCulture),
            "--budget", "600", "--batch-size", "16", "--eval-size", "32", "--backend", "managed", "--seed", "3"], output, error);
        Text = output.ToString();
        Error = error.ToString();
    }

    public string Output { get; }

    public string Json { get; }

    public int Exit { get; }

    public string Text { get; }

    public string Error { get; }

    public void Dispose() => _data.Dispose();
}

/// <summary>The outputs of <see cref="DemoRunFixture"/>'s run: table, CSV, PNG and JSON.</summary>
[Collection(nameof(SerialTests))]
public sealed class DemoRunTests(DemoRunFixture run) : IClassFixture<DemoRunFixture>
{
    private const int Steps = DemoRunFixture.Steps;
    private readonly string _output = run.Output;
    private readonly string _json = run.Json;
    private readonly int _exit = run.Exit;
    private readonly string _text = run.Text;
    private readonly string _error = run.Error;

    private static IEnumerable<OptimizerDefinition> Available => OptimizerCatalog.All;

    [Fact]
    public void Succeeds_AndPrintsOneTableRowPerTaskAndOptimizer()
    {
        Assert.True(_exit == DemoApp.Success, $"exit {_exit}: {_error}\n{_text}");
        foreach (var definition in Available)
        {
            int rows = _text.Split('\n').Count(l => l.StartsWith("  " + definition.DisplayName + " ", StringComparison.Ordinal));
            Assert.Equal(2, rows);
        }

        Assert.Contains("steps to 0.4000", _text, StringComparison.Ordinal);
        Assert.Contains("test acc", _text, StringComparison.Ordinal);
        Assert.Contains("ms/step", _text, StringComparison.Ordinal);
        Assert.Contains("Curvature managed; threads: 1", _text, StringComparison.Ordinal);
    }

    [Fact]
    public void WritesTheCsv_WithEveryStepAndFiniteDecreasingTrainingLosses()
    {
        Assert.True(_exit == DemoApp.Success, _error);
        string[] lines = File.ReadAllLines(Path.Combine(_output, DemoApp.CsvFileName));
        Assert.Equal(CurveCsvWriter.Header, lines[0]);
        foreach (var definition in Available)
        {
            foreach (string task in new[] { "autoencoder", "cnn" })
            {
                var rows = lines.Where(l => l.StartsWith($"{task},{definition.Key},", StringComparison.Ordinal)).Select(l => l.Split(',')).ToArray();
                Assert.Equal(Enumerable.Range(0, Steps + 1).Select(i => i.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[2]));
                Assert.All(rows.Skip(1), r => Assert.True(double.IsFinite(Parse(r[4])), $"{task}/{definition.Key}: batch loss {r[4]}"));
                double first = Parse(rows[0][5]), last = Parse(rows[^1][5]);
                Assert.True(double.IsFinite(first) && double.IsFinite(last) && last < first, $"{task}/{definition.Key}: training loss {first} -> {last}");
                Assert.True(double.IsFinite(Parse(rows[^1][6])), "the final row holds the test loss");
            }
        }
    }

    [Fact]
    public void WritesThePlot()
    {
        Assert.True(_exit == DemoApp.Success, _error);
        byte[] png = File.ReadAllBytes(Path.Combine(_output, DemoApp.PlotFileName));
        Assert.True(png.Length > 10_000);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public void WritesTheJson_WithTheDocumentedSchema()
    {
        Assert.True(_exit == DemoApp.Success, _error);
        using var document = JsonDocument.Parse(File.ReadAllText(_json));
        var root = document.RootElement;
        Assert.Equal(JsonReportWriter.Schema, root.GetProperty("schema").GetString());
        Assert.Equal("managed", root.GetProperty("backend").GetString());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Contains("--json", root.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));
        Assert.True(root.GetProperty("total_seconds").GetDouble() > 0);
        var tasks = root.GetProperty("tasks").EnumerateArray().ToArray();
        Assert.Equal(["autoencoder", "cnn"], tasks.Select(t => t.GetProperty("task").GetString()));
        Assert.Equal(2_837_314, tasks[0].GetProperty("parameters").GetInt64());
        foreach (var task in tasks)
        {
            Assert.Equal(16, task.GetProperty("batch_size").GetInt32());
            Assert.Equal(600, task.GetProperty("budget_seconds").GetDouble());
            Assert.Equal(Steps, task.GetProperty("step_cap").GetInt64());
            Assert.Equal(3, task.GetProperty("seed").GetInt32());
            Assert.Equal(32, task.GetProperty("train_evaluation_images").GetInt32());
            Assert.Equal(40, task.GetProperty("test_images").GetInt32());
            var runs = task.GetProperty("runs").EnumerateArray().ToArray();
            Assert.Equal(Available.Select(d => d.Key), runs.Select(r => r.GetProperty("optimizer").GetString()));
            foreach (var run in runs)
            {
                Assert.Equal(Steps, run.GetProperty("steps").GetInt64());
                Assert.Equal("step_cap", run.GetProperty("stopped_by").GetString());
                Assert.False(run.GetProperty("diverged").GetBoolean());
                Assert.Equal(JsonValueKind.Null, run.GetProperty("divergence").ValueKind);
                Assert.False(string.IsNullOrEmpty(run.GetProperty("settings").GetString()));
                var losses = run.GetProperty("step_loss").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var seconds = run.GetProperty("step_seconds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                Assert.Equal(Steps, losses.Length);
                Assert.Equal(Steps, seconds.Length);
                Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0));
                Assert.True(seconds.Zip(seconds.Skip(1)).All(p => p.First <= p.Second), "training time never decreases");
                Assert.Equal(seconds[^1], run.GetProperty("train_seconds").GetDouble());
                Assert.True(run.GetProperty("wall_seconds").GetDouble() >= seconds[^1]);
                Assert.Equal(1000 * seconds[^1] / Steps, run.GetProperty("ms_per_step").GetDouble(), 9);
                var final = run.GetProperty("final");
                double trainLoss = final.GetProperty("train_loss").GetDouble();
                Assert.True(double.IsFinite(final.GetProperty("test_loss").GetDouble()));
                bool classifier = task.GetProperty("classifier").GetBoolean();
                Assert.Equal(classifier ? JsonValueKind.Number : JsonValueKind.Null, final.GetProperty("test_accuracy").ValueKind);
                var evaluations = run.GetProperty("evaluations").EnumerateArray().ToArray();
                Assert.Equal(0, evaluations[0].GetProperty("step").GetInt64());
                Assert.Equal(Steps, evaluations[^1].GetProperty("step").GetInt64());
                Assert.Equal(trainLoss, evaluations[^1].GetProperty("train_loss").GetDouble());
                Assert.True(trainLoss < evaluations[0].GetProperty("train_loss").GetDouble());
                var target = run.GetProperty("target");
                Assert.Equal(target.GetProperty("steps").ValueKind == JsonValueKind.Null, target.GetProperty("seconds").ValueKind == JsonValueKind.Null);
            }
        }
    }

    private static double Parse(string cell) => cell.Length == 0 ? double.NaN : double.Parse(cell, CultureInfo.InvariantCulture);
}
