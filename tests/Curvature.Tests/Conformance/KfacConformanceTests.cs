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
}
