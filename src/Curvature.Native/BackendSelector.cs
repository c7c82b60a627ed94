using Curvature.Backends;
using Curvature.Backends.Managed;

namespace Curvature.Native;

/// <summary>Creates backends by choice, by name, from <see cref="NativeBackendOptions"/> or from the environment
/// (<c>CURVATURE_BACKEND</c>, <c>CURVATURE_NATIVE_LIBRARY</c>).</summary>
public static class BackendSelector
{
    /// <summary>The environment variable that selects a backend: <c>auto|openblas|mkl|managed</c>.</summary>
    public const string EnvironmentVariable = "CURVATURE_BACKEND";

    /// <summary>The environment variable holding an explicit native library path (OpenBLAS or MKL's <c>libmkl_rt</c>).</summary>
    public const string LibraryPathEnvironmentVariable = "CURVATURE_NATIVE_LIBRARY";

    /// <summary>Parses <c>auto|openblas|mkl|managed</c> (case-insensitive; empty means auto).</summary>
    /// <exception cref="ArgumentException">The name is not one of those.</exception>
    public static BackendChoice Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "auto" or "" => BackendChoice.Auto,
            "openblas" => BackendChoice.OpenBlas,
            "mkl" => BackendChoice.Mkl,
            "managed" => BackendChoice.Managed,
            _ => throw new ArgumentException($"Unknown backend '{name}': expected auto, openblas, mkl or managed.", nameof(name)),
        };
    }

    /// <summary>Creates the chosen backend with default options (one thread, usual library names).</summary>
    /// <exception cref="BackendUnavailableException">A native backend was forced and its library cannot be loaded.</exception>
    public static CurvatureBackend Create(BackendChoice choice = BackendChoice.Auto) => Create(new NativeBackendOptions { Backend = choice });

    /// <summary>Creates a backend. <see cref="BackendChoice.Auto"/> tries the native provider that is fastest on this CPU
    /// (OpenBLAS on non-Intel CPUs, MKL on Intel), then the other one, then falls back to the managed backend; with an
    /// explicit <see cref="NativeBackendOptions.LibraryPath"/> it loads that library or fails.</summary>
    /// <exception cref="BackendUnavailableException">A native backend (or an explicit library) was requested and cannot be loaded.</exception>
    public static CurvatureBackend Create(NativeBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ThreadCount, 1, nameof(options));
        switch (options.Backend)
        {
            case BackendChoice.Managed:
                var managed = new ManagedBackend();
                managed.SetThreadCount(options.ThreadCount);
                return managed;
            case BackendChoice.Auto when options.LibraryPath is null:
                try
                {
                    return NativeBackend.Load(options);
                }
                catch (BackendUnavailableException)
                {
                    var fallback = new ManagedBackend();
                    fallback.SetThreadCount(options.ThreadCount);
                    return fallback;
                }

            default:
                return NativeBackend.Load(options);
        }
    }

    /// <summary>Creates the backend named by <c>CURVATURE_BACKEND</c> (auto when unset), loading
    /// <c>CURVATURE_NATIVE_LIBRARY</c> when it is set.</summary>
    /// <exception cref="ArgumentException"><c>CURVATURE_BACKEND</c> holds an unknown name.</exception>
    /// <exception cref="BackendUnavailableException">The requested native backend cannot be loaded.</exception>
    public static CurvatureBackend FromEnvironment() => Create(NativeBackendOptions.FromEnvironment());
}
