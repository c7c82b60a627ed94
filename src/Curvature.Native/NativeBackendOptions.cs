namespace Curvature.Native;

/// <summary>How <see cref="NativeBackend.Load"/> and <see cref="BackendSelector.Create(NativeBackendOptions)"/> pick and set up a backend.</summary>
public sealed record NativeBackendOptions
{
    /// <summary>The backend: <see cref="BackendChoice.Auto"/> (default), a specific native provider, or managed
    /// (managed is accepted by <see cref="BackendSelector"/> only).</summary>
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;

    /// <summary>A library file to load instead of probing the usual names (for <see cref="BackendChoice.Auto"/> the
    /// provider is recognised from the library's exports). Environment variable <c>CURVATURE_NATIVE_LIBRARY</c>.</summary>
    public string? LibraryPath { get; init; }

    /// <summary>Threads one kernel call may use; 1 (sequential) by default. The provider's setting is process-wide.</summary>
    public int ThreadCount { get; init; } = 1;

    /// <summary>Options from <c>CURVATURE_BACKEND</c> (<c>auto|openblas|mkl|managed</c>, auto when unset or empty) and
    /// <c>CURVATURE_NATIVE_LIBRARY</c> (a library path; ignored when unset or empty).</summary>
    /// <exception cref="ArgumentException"><c>CURVATURE_BACKEND</c> holds an unknown name.</exception>
    public static NativeBackendOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static NativeBackendOptions FromEnvironment(Func<string, string?> getVariable)
    {
        string? backend = getVariable(BackendSelector.EnvironmentVariable);
        string? path = getVariable(BackendSelector.LibraryPathEnvironmentVariable);
        BackendChoice choice;
        try
        {
            choice = BackendSelector.Parse(backend ?? "auto");
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{BackendSelector.EnvironmentVariable}: {e.Message}", BackendSelector.EnvironmentVariable, e);
        }

        return new NativeBackendOptions
        {
            Backend = choice,
            LibraryPath = string.IsNullOrWhiteSpace(path) ? null : path.Trim(),
        };
    }
}
