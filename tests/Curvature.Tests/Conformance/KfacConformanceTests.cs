using System.Text.Json.Nodes;
using Curvature.Backends.Managed;
using Curvature.Conformance;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Conformance;

public class KfacConformanceTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "data", "reference");

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void AllPublicKfacCases_Pass(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var output = new StringWriter();
        var (passed, failed) = ConformanceRunner.Run(Folder, backend, "kfac", output);
        Assert.True(failed == 0, output.ToString());
        Assert.Equal(15, passed);
    }

    [Theory]
    [InlineData("trace")]
    [InlineData("factor")]
    [InlineData("inverse")]
    [InlineData("loss")]
    public void TamperedCase_IsReportedAsFailure(string what)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "mlp_ce_mean_type2_joint.json")))!;
        var kfac = json["kfac"]!;
        switch (what)
        {
            case "trace":
                kfac["trace"] = kfac["trace"]!.GetValue<double>() * (1 + 1e-8);
                break;
            case "factor":
                var data = kfac["blocks"]![1]!["gradient_covariance"]!["data"]!;
                data[0] = data[0]!.GetValue<double>() + 1e-6;
                break;
            case "inverse":
                var inv = kfac["inverse"]!["exact"]!["matmat"]![0]!["tensor"]!["data"]!;
                inv[3] = inv[3]!.GetValue<double>() * 1.001;
                break;
            default:
                var g = json["batches"]![1]!["layers"]!["2"]!["g"]!["data"]!;
                g[2] = g[2]!.GetValue<double>() + 1e-5;
                break;
        }

        string dir = Path.Combine(Path.GetTempPath(), "kfac-tamper-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "case.json"), json.ToJsonString());
            var output = new StringWriter();
            var (passed, failed) = ConformanceRunner.Run(dir, new ManagedBackend(), "kfac", output);
            Assert.Equal((0, 1), (passed, failed));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
