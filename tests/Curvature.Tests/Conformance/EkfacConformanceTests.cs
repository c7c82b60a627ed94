using Curvature.Conformance;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Conformance;

public class EkfacConformanceTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "data", "reference");

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void AllPublicEkfacCases_Pass(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var output = new StringWriter();
        var (passed, failed) = ConformanceRunner.Run(Folder, backend, "ekfac", output);
        Assert.True(failed == 0, output.ToString());
        Assert.Equal(15, passed);
        Assert.Contains("rejected with NotSupportedException", output.ToString());
    }
}
