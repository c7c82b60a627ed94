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

    /// <summary>
    /// Intel MKL only: run MKL in its conditional numerical reproducibility mode (<c>mkl_cbwr_set(MKL_CBWR_AUTO)</c>), so
    /// that the same call on the same data gives bit-identical results from run to run and whatever the alignment of the
    /// buffers, on one CPU type and thread count. Off by default: without it MKL may round differently when the same
    /// matrix sits at another address (for example a copy), at some cost in speed when on. The mode is process-wide and
    /// best chosen on the first load of MKL in the process; turning it on later is tried and refused with
    /// <see cref="BackendUnavailableException"/> when MKL does not allow it. The <c>MKL_CBWR</c> environment variable has
    /// the same effect. OpenBLAS ignores this setting (on one thread it is reproducible already).
    /// </summary>
    public bool Reproducible { get; init; }

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
