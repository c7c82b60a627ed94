using Curvature.Conformance;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Conformance;

public class AdaFisherConformanceTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void ReferenceReplays_AllPass(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var folder = Path.Combine(AppContext.BaseDirectory, "data", "reference");
        var output = new StringWriter();
        var (passed, failed) = ConformanceRunner.Run(folder, backend, "adafisher", output);
        Assert.True(failed == 0, output.ToString());
        Assert.True(passed >= 2, output.ToString());
    }
}
