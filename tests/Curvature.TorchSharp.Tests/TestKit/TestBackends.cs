using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Native;
using Xunit;

namespace Curvature.TorchSharp.Tests.TestKit;

/// <summary>
/// The backends tests run on. Native backends that cannot be loaded are skipped with the load error as the reason,
/// unless <c>CURVATURE_REQUIRE_NATIVE=1</c> (set by the Cake Test task, which installs them): then they fail.
/// </summary>
public static class TestBackends
{
    /// <summary>Names for [Theory] data: managed, openblas, mkl.</summary>
    public static TheoryData<string> Names => new() { "managed", "openblas", "mkl" };

    /// <summary>Returns the named backend, or skips the test when a native one is unavailable and not required.</summary>
    public static CurvatureBackend Get(string name)
    {
        var choice = BackendSelector.Parse(name);
        if (choice == BackendChoice.Managed)
        {
            return new ManagedBackend();
        }

        try
        {
            return BackendSelector.Create(choice);
        }
        catch (BackendUnavailableException e) when (Environment.GetEnvironmentVariable("CURVATURE_REQUIRE_NATIVE") != "1")
        {
            Assert.Skip($"{name} unavailable: {e.Message}");
            throw; // unreachable
        }
    }
}
