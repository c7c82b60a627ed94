using Curvature.Backends;
using Curvature.Native.Interop;

namespace Curvature.Native.Internals;

/// <summary>
/// One loaded BLAS/LAPACK provider: its library handle, its function table and its thread control. Library handles and
/// thread settings are process-wide, so there is at most one instance per provider (see <see cref="NativeLibraryLoader"/>).
/// </summary>
internal sealed class NativeProvider
{
    private readonly Lock _threadLock = new();

    public NativeProvider(BackendKind kind, string libraryPath, string filePath, nint handle, BlasLapackExports exports, string version, string threading)
    {
        Kind = kind;
        LibraryPath = libraryPath;
        FilePath = filePath;
        Handle = handle;
        Exports = exports;
        Version = version;
        Threading = threading;
    }

    /// <summary><see cref="BackendKind.OpenBlas"/> or <see cref="BackendKind.Mkl"/>.</summary>
    public BackendKind Kind { get; }

    /// <summary>The name or path the library was loaded from.</summary>
    public string LibraryPath { get; }

    /// <summary>The file the library was mapped from (best effort; <see cref="LibraryPath"/> when unknown).</summary>
    public string FilePath { get; }

    /// <summary>The OS library handle.</summary>
    public nint Handle { get; }

    /// <summary>The BLAS/LAPACK entry points resolved from <see cref="Handle"/>.</summary>
    public BlasLapackExports Exports { get; }

    /// <summary>The provider's own version/configuration string.</summary>
    public string Version { get; }

    /// <summary>True when MKL runs in its conditional numerical reproducibility mode (set under the loader's lock).</summary>
    public bool Reproducible { get; set; }

    /// <summary>How the provider threads (for <c>Describe()</c>).</summary>
    public string Threading { get; }

    /// <summary>Short name: <c>openblas</c> or <c>mkl</c>.</summary>
    public string Name => Kind == BackendKind.Mkl ? "mkl" : "openblas";

    /// <summary>The number of threads one call may use (queried from the library).</summary>
    public int ThreadCount => Kind == BackendKind.Mkl ? MklServices.GetThreadCount() : OpenBlasServices.GetThreadCount();

    /// <summary>Sets the provider's process-wide thread count.</summary>
    public void SetThreadCount(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        lock (_threadLock)
        {
            if (Kind == BackendKind.Mkl)
            {
                // Process-wide, not per calling thread: a backend used from a thread pool would otherwise silently run with
                // another count on every thread. Under the sequential threading layer Curvature selects (see
                // NativeLibraryLoader) MKL runs one thread whatever is set here.
                MklServices.SetThreadCount(threads);
            }
            else
            {
                OpenBlasServices.SetThreadCount(threads);
            }
        }
    }
}
