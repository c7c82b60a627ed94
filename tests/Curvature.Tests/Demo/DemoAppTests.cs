using Curvature.Demo;
using Curvature.Demo.Optimizers;
using Xunit;

namespace Curvature.Tests.Demo;

public sealed class DemoAppTests
{
    [Fact]
    public void Run_SmallStepCount_WritesCsvPngAndTableForEveryOptimizer()
    {
        string folder = Path.Combine(Path.GetTempPath(), "curvature-demo-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();

            int exit = DemoApp.Run(["--steps", "6", "--optimizers", "all", "--out", folder, "--backend", "managed", "--seed", "3"], output, error);

            Assert.True(exit == DemoApp.Success, $"exit {exit}: {error}");
            string text = output.ToString();
            string csv = Path.Combine(folder, DemoApp.CsvFileName);
            string png = Path.Combine(folder, DemoApp.PlotFileName);
            Assert.True(File.Exists(csv));
            Assert.True(File.Exists(png));
            byte[] pngBytes = File.ReadAllBytes(png);
            Assert.True(pngBytes.Length > 1000);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], pngBytes[..4]);
            Assert.Contains(csv, text);
            Assert.Contains(png, text);

            string[] lines = File.ReadAllLines(csv);
            Assert.Equal("task,optimizer,step,seconds,batch_loss,train_loss,test_loss,test_accuracy", lines[0]);
            foreach (var definition in OptimizerCatalog.All.Where(d => d.IsAvailable))
            {
                // One table row per task (two tasks), each starting with the optimizer's name.
                int rows = text.Split('\n').Count(l => l.StartsWith("  " + definition.DisplayName + " ", StringComparison.Ordinal));
                Assert.Equal(2, rows);
                foreach (string task in new[] { "autoencoder", "classifier" })
                {
                    // Steps 0..6 for each (task, optimizer), every one evaluated; the training loss is finite and went down.
                    var rowsOf = lines.Where(l => l.StartsWith($"{task},{definition.DisplayName},", StringComparison.Ordinal)).ToArray();
                    Assert.Equal(7, rowsOf.Length);
                    double first = TrainLoss(rowsOf[0]), last = TrainLoss(rowsOf[^1]);
                    Assert.True(double.IsFinite(first) && double.IsFinite(last) && last < first, $"{task} / {definition.DisplayName}: train loss {first} -> {last}");
                }
            }
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static double TrainLoss(string csvLine) =>
        double.Parse(csvLine.Split(',')[5], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void CurvatureOptimizers_AreAllWiredIn_AndInTheDefaultSet()
    {
        Assert.All(OptimizerCatalog.All, d => Assert.True(d.IsAvailable, d.Key));
        Assert.Equal(["sgd", "adam", "kfac", "ekfac", "adafisher"], OptimizerCatalog.DefaultKeys);
    }

    [Fact]
    public void Parse_CurvatureOptimizerList_KeepsTheNamesInOrder()
    {
        var options = Curvature.Demo.Cli.DemoOptions.Parse(["--optimizers", "kfac,EKFAC, adafisher"]);
        Assert.Equal(["kfac", "ekfac", "adafisher"], options.Optimizers);
    }

    [Fact]
    public void Run_UnknownOptimizerName_ListsTheKnownOnes()
    {
        var error = new StringWriter();
        Assert.Equal(DemoApp.UsageError, DemoApp.Run(["--optimizers", "kfac,shampoo"], new StringWriter(), error));
        Assert.Contains("Unknown optimizer 'shampoo'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("kfac, ekfac, adafisher", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--steps", "0")]
    [InlineData("--steps", "abc")]
    [InlineData("--threads", "0")]
    [InlineData("--backend", "cuda")]
    [InlineData("--optimizers", "lbfgs")]
    [InlineData("--optimizers", "")]
    [InlineData("--frobnicate", "1")]
    [InlineData("--seed", "1.5")]
    public void Run_BadOption_ExitsWithCode2AndMessage(string option, string value)
    {
        string folder = Path.Combine(Path.GetTempPath(), "curvature-demo-bad-" + Guid.NewGuid().ToString("N"));
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = DemoApp.Run([option, value, "--out", folder], output, error);

        Assert.Equal(DemoApp.UsageError, exit);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder)); // rejected before any work
    }

    [Fact]
    public void Run_MissingValue_ExitsWithCode2()
    {
        var error = new StringWriter();
        Assert.Equal(DemoApp.UsageError, DemoApp.Run(["--steps"], new StringWriter(), error));
        Assert.Contains("--steps needs a value", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BadBackendEnvironment_ExitsWithCode2()
    {
        var error = new StringWriter();
        Assert.Equal(DemoApp.UsageError, DemoApp.Run([], new StringWriter(), error, backendEnvironment: "gpu"));
        Assert.Contains("CURVATURE_BACKEND", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_Help_PrintsUsageAndSucceeds()
    {
        var output = new StringWriter();
        Assert.Equal(DemoApp.Success, DemoApp.Run(["--help"], output, new StringWriter()));
        Assert.Contains("--optimizers", output.ToString(), StringComparison.Ordinal);
    }
}
