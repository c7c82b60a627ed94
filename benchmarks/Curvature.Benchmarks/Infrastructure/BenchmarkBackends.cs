using Curvature.Backends;
using Curvature.Native;

namespace Curvature.Benchmarks.Infrastructure;

/// <summary>Creates the backends under test and finds out, once per run, which of them can be loaded here.</summary>
internal static class BenchmarkBackends
{
    private static string[]? s_available;

    /// <summary>
    /// The requested backends that can be created on this machine. A native backend whose library cannot be
    /// loaded (or that is not built yet) is left out with a message on the console, so every benchmark with that
    /// backend parameter is skipped instead of failing; once the native backends exist, they are measured
    /// without any change here.
    /// </summary>
    public static IReadOnlyList<string> Available
    {
        get
        {
            if (s_available is null)
            {
                var names = new List<string>();
                foreach (string name in BenchmarkSettings.RequestedBackends)
                {
                    try
                    {
                        var backend = Create(name, threads: 1);
                        Console.WriteLine($"// Backend '{name}': {backend.Describe()}");
                        names.Add(name);
                    }
                    catch (BackendUnavailableException e)
                    {
                        Console.WriteLine($"// Backend '{name}' is unavailable, its benchmarks are skipped: {e.Message}");
                    }
                }

                s_available = [.. names];
            }

            return s_available;
        }
    }

    /// <summary>Creates the named backend with the given number of threads per kernel call.</summary>
    /// <exception cref="BackendUnavailableException">A native backend cannot be loaded.</exception>
    public static CurvatureBackend Create(string name, int threads)
    {
        var backend = BackendSelector.Create(BackendSelector.Parse(name));
        backend.SetThreadCount(threads);
        return backend;
    }
}
