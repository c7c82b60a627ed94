using Curvature.Demo;
using Curvature.Demo.Cli;
using Curvature.Demo.Optimizers;
using Curvature.TorchSharp.Tests.TestKit;
using Xunit;

namespace Curvature.TorchSharp.Tests.Demo;

[Collection(nameof(SerialTests))]
public sealed class DemoCommandLineTests
{
    [Fact]
    public void Parse_Defaults_RunEveryTaskAndAvailableOptimizerOnItsOwnBudget()
    {
        var options = DemoOptions.Parse([]);

        Assert.Equal(["autoencoder", "cnn"], options.Tasks);
        Assert.Equal(OptimizerCatalog.DefaultKeys, options.Optimizers);
        Assert.Null(options.Steps);
        Assert.Null(options.BatchSize);
        Assert.Null(options.JsonPath);
        Assert.Equal(DemoOptions.DefaultSeed, options.Seed);
        Assert.Equal(DemoOptions.DefaultThreads, options.Threads);
        Assert.All(Curvature.Demo.Tasks.DemoTasks.All, t => Assert.Equal(t.DefaultBudgetSeconds, options.BudgetFor(t)));
    }

    [Fact]
    public void Catalog_HasTheBaselinesAndEveryCurvatureOptimizer_AllRunByDefault()
    {
        Assert.Equal(["sgd", "adam", "kfac", "ekfac", "adafisher"], OptimizerCatalog.All.Select(d => d.Key));
        Assert.Equal(OptimizerCatalog.All.Select(d => d.Key), DemoOptions.Parse([]).Optimizers);
        Assert.Equal(["kfac", "ekfac", "adafisher"], DemoOptions.Parse(["--optimizers", "kfac,EKFAC, adafisher,kfac"]).Optimizers);
        Assert.Equal(OptimizerCatalog.DefaultKeys, DemoOptions.Parse(["--optimizers", "all"]).Optimizers);
    }

    [Fact]
    public void Parse_EveryScriptingOption_IsRead()
    {
        var options = DemoOptions.Parse(["--task", "cnn", "--optimizers=adam,SGD", "--steps", "7", "--seed", "-3", "--batch-size", "32",
            "--threads", "2", "--json", "out.json", "--budget", "2.5", "--lr", "0.01", "--train-size", "500", "--test-size=100"]);

        Assert.Equal(["cnn"], options.Tasks);
        Assert.Equal(["adam", "sgd"], options.Optimizers);
        Assert.Equal(7, options.Steps);
        Assert.Equal(-3, options.Seed);
        Assert.Equal(32, options.BatchSize);
        Assert.Equal(2, options.Threads);
        Assert.Equal("out.json", options.JsonPath);
        Assert.Equal(0.01, options.LearningRate);
        Assert.Equal(500, options.TrainSize);
        Assert.Equal(100, options.TestSize);
        Assert.All(Curvature.Demo.Tasks.DemoTasks.All, t => Assert.Equal(2.5, options.BudgetFor(t)));
    }

    [Fact]
    public void Parse_Target_ForEveryTaskOrPerTask()
    {
        var tasks = Curvature.Demo.Tasks.DemoTasks.All;
        var all = DemoOptions.Parse(["--target", "0.3"]);
        var one = DemoOptions.Parse(["--target", "cnn=0.25"]);

        Assert.All(tasks, t => Assert.Equal(0.3, all.TargetFor(t)));
        Assert.Equal(0.25, one.TargetFor(tasks.Single(t => t.Key == "cnn")));
        var autoencoder = tasks.Single(t => t.Key == "autoencoder");
        Assert.Equal(autoencoder.DefaultTargetLoss, one.TargetFor(autoencoder));
    }

    [Fact]
    public void Parse_BudgetPerTask_SetsOnlyTheNamedTasks()
    {
        var options = DemoOptions.Parse(["--budget", "autoencoder=30"]);
        var tasks = Curvature.Demo.Tasks.DemoTasks.All;

        Assert.Equal(30, options.BudgetFor(tasks.Single(t => t.Key == "autoencoder")));
        var cnn = tasks.Single(t => t.Key == "cnn");
        Assert.Equal(cnn.DefaultBudgetSeconds, options.BudgetFor(cnn));
    }

    [Theory]
    [InlineData("--steps", "0", "--steps")]
    [InlineData("--steps", "abc", "--steps")]
    [InlineData("--threads", "0", "--threads")]
    [InlineData("--batch-size", "-1", "--batch-size")]
    [InlineData("--budget", "0", "--budget")]
    [InlineData("--budget", "mlp=3", "--budget")]
    [InlineData("--budget", "cnn=x", "--budget")]
    [InlineData("--target", "0", "--target")]
    [InlineData("--target", "ae=0.3", "--target")]
    [InlineData("--task", "mlp", "Unknown task 'mlp'")]
    [InlineData("--task", "", "--task")]
    [InlineData("--optimizers", "lbfgs", "Unknown optimizer 'lbfgs'")]
    [InlineData("--optimizers", "", "--optimizers")]
    [InlineData("--backend", "cuda", "--backend")]
    [InlineData("--lr", "-1", "--lr")]
    [InlineData("--seed", "1.5", "--seed")]
    [InlineData("--frobnicate", "1", "Unknown option '--frobnicate'")]
    public void Run_BadOption_ExitsWithCode2AndAMessage_BeforeAnyWork(string option, string value, string message)
    {
        string folder = Path.Combine(Path.GetTempPath(), "curvature-demo-bad-" + Guid.NewGuid().ToString("N"));
        var error = new StringWriter();

        int exit = DemoApp.Run([option, value, "--out", folder], new StringWriter(), error);

        Assert.Equal(DemoApp.UsageError, exit);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder)); // rejected before anything was created
    }

    [Fact]
    public void Run_UnknownOptimizer_ListsTheKnownOnes()
    {
        var error = new StringWriter();
        Assert.Equal(DemoApp.UsageError, DemoApp.Run(["--optimizers", "adam,shampoo"], new StringWriter(), error));
        Assert.Contains("Known: sgd, adam, kfac, ekfac, adafisher.", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_MissingValue_ExitsWithCode2()
    {
        var error = new StringWriter();
        Assert.Equal(DemoApp.UsageError, DemoApp.Run(["--steps"], new StringWriter(), error));
        Assert.Contains("Option --steps needs a value", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BadBackendEnvironment_ExitsWithCode2()
    {
        var error = new StringWriter();
        Assert.Equal(DemoApp.UsageError, DemoApp.Run([], new StringWriter(), error, backendEnvironment: "gpu"));
        Assert.Contains("CURVATURE_BACKEND=gpu", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_JsonWhereNoFolderCanBe_ExitsWithCode2()
    {
        string file = Path.GetTempFileName();
        try
        {
            var error = new StringWriter();
            string json = Path.Combine(file, "r.json"); // a folder inside a file
            Assert.Equal(DemoApp.UsageError, DemoApp.Run(["--json", json, "--out", Path.GetTempPath()], new StringWriter(), error));
            Assert.Contains("cannot create the output folder", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Run_MissingDataSet_ExitsWithCode2AndNamesTheFile()
    {
        string empty = Directory.CreateTempSubdirectory("curvature-demo-nodata-").FullName;
        string output = Path.Combine(empty, "out");
        try
        {
            var error = new StringWriter();
            Assert.Equal(DemoApp.UsageError, DemoApp.Run(["--data-dir", empty, "--out", output], new StringWriter(), error));
            Assert.Contains(Path.Combine(empty, "train-images-idx3-ubyte.gz"), error.ToString(), StringComparison.Ordinal);
            Assert.Contains("dataset-fashion-mnist", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void Run_BatchLargerThanTheTrainingImages_ExitsWithCode2()
    {
        using var data = new DemoTestData(trainCount: 20, testCount: 10);
        string output = Path.Combine(data.Directory, "out");
        var error = new StringWriter();

        int exit = DemoApp.Run(["--data-dir", data.Directory, "--out", output, "--batch-size", "21", "--optimizers", "sgd"], new StringWriter(), error);

        Assert.Equal(DemoApp.UsageError, exit);
        Assert.Contains("batch size 21", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ComparePyTorch_WithoutPython_ExitsWithCode2()
    {
        using var data = new DemoTestData(trainCount: 20, testCount: 10);
        var error = new StringWriter();

        int exit = DemoApp.Run(["--data-dir", data.Directory, "--out", Path.Combine(data.Directory, "out"), "--compare-pytorch",
            "--python", "/nonexistent/python3", "--batch-size", "8"], new StringWriter(), error);

        Assert.Equal(DemoApp.UsageError, exit);
        Assert.Contains("cannot start '/nonexistent/python3'", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ListsEveryOption()
    {
        var output = new StringWriter();
        Assert.Equal(DemoApp.Success, DemoApp.Run(["--help"], output, new StringWriter()));
        foreach (string option in new[] { "--task", "--optimizers", "--budget", "--steps", "--seed", "--batch-size", "--threads", "--json", "--compare-pytorch" })
        {
            Assert.Contains(option, output.ToString(), StringComparison.Ordinal);
        }
    }
}
