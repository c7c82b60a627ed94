using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Native;
using Xunit;

namespace Curvature.Tests.TestKit;

/// <summary>
/// The backends tests run on. Native backends that cannot be loaded are skipped with the load error as the reason,
/// unless <c>CURVATURE_REQUIRE_NATIVE=1</c> (set by the Cake Test task, which installs them): then they fail.
/// </summary>
public static class TestBackends
{
    /// <summary>Names for [Theory] data: managed, openblas, mkl.</summary>
    public static TheoryData<string> Names => new() { "managed", "openblas", "mkl" };

    /// <summary>Every backend name, each with <c>false</c> and <c>true</c> (a second axis of the test).</summary>
    public static TheoryData<string, bool> NamesWithFlag()
    {
        var data = new TheoryData<string, bool>();
        foreach (string backend in new[] { "managed", "openblas", "mkl" })
        {
            data.Add(backend, false);
            data.Add(backend, true);
        }

        return data;
    }

    /// <summary>True when native backends must load (CI / the Cake Test task).</summary>
    public static bool NativeRequired => Environment.GetEnvironmentVariable("CURVATURE_REQUIRE_NATIVE") == "1";

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
        catch (BackendUnavailableException e) when (!NativeRequired)
        {
            Assert.Skip($"{name} unavailable: {e.Message}");
            throw; // unreachable
        }
    }
}
