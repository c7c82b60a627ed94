using System.Text.Json.Nodes;
using Curvature.Backends.Managed;
using Curvature.Conformance;
using Curvature.TorchSharp.Tests.TestKit;
using Xunit;

namespace Curvature.TorchSharp.Tests.Conformance;

/// <summary>
/// Every public reference case end to end through TorchSharp: the model built from the case's parameters, a and g
/// captured by the bridge from libtorch's forward and backward passes, every K-FAC and EKFAC quantity checked.
/// </summary>
public class ConformanceViaTorchSharpTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "data", "reference");

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void AllPublicKfacEkfacCases_Pass(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var output = new StringWriter();
        var (passed, failed) = ConformanceRunner.Run(Folder, backend, null, output, new TorchSharpLayerData());
        Assert.True(failed == 0, output.ToString());
        Assert.Equal(15, passed);
        Assert.Contains("15 passed, 0 failed, 2 skipped", output.ToString());
    }

    [Theory]
    [InlineData("params", "output[0]")]
    [InlineData("g", "g[1][0]")]
    [InlineData("a", "a[0][2]")]
    [InlineData("architecture", "Softsign")]
    public void ADisagreementWithTheCase_IsReportedAsFailure(string what, string expected)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "mlp_ce_mean_type2_joint.json")))!;
        switch (what)
        {
            case "params":
                var w = json["params"]![0]!["tensor"]!["data"]!;
                w[0] = w[0]!.GetValue<double>() + 1e-6;
                break;
            case "g":
                var g = json["batches"]![1]!["layers"]!["0"]!["g"]!["data"]!;
                g[0] = g[0]!.GetValue<double>() * (1 + 1e-6);
                break;
            case "a":
                var a = json["batches"]![0]!["layers"]!["2"]!["a"]!["data"]!;
                a[1] = a[1]!.GetValue<double>() + 1e-6;
                break;
            default:
                json["model"]!["architecture"] = json["model"]!["architecture"]!.GetValue<string>().Replace("ReLU()", "Softsign()");
                break;
        }

        string dir = Path.Combine(Path.GetTempPath(), "torchsharp-tamper-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "case.json"), json.ToJsonString());
            var output = new StringWriter();
            var (passed, failed) = ConformanceRunner.Run(dir, new ManagedBackend(), "kfac", output, new TorchSharpLayerData());
            Assert.Equal((0, 1), (passed, failed));
            Assert.Contains(expected, output.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TheCommandLine_RunsViaTorchSharp_AndTheDefaultRunnerPointsHere()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var sources = new Dictionary<string, Func<ILayerDataSource>> { ["torchsharp"] = () => new TorchSharpLayerData() };
        int code = ConformanceCommandLine.Run([Folder, "--backend", "managed", "--only", "kfac", "--via", "torchsharp"], sources, output, error);
        Assert.True(code == 0, output + error.ToString());
        Assert.Contains("layer data: via torchsharp", output.ToString());
        Assert.Contains("15 passed, 0 failed", output.ToString());

        error = new StringWriter();
        Assert.Equal(2, ConformanceCommandLine.Run([Folder, "--via", "torchsharp"], new Dictionary<string, Func<ILayerDataSource>>(), TextWriter.Null, error));
        Assert.Contains("tests/Curvature.TorchSharp.Tests", error.ToString());
    }
}
