using System.Runtime.InteropServices;

namespace Curvature.Native.Interop;

/// <summary>OpenBLAS service functions (<c>cblas.h</c> of OpenBLAS).</summary>
internal static partial class OpenBlasServices
{
    /// <summary>An export only OpenBLAS has.</summary>
    public const string IdentityExport = "openblas_get_config";

    // char* openblas_get_config(void); e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    [LibraryImport(NativeLibraryNames.OpenBlas, EntryPoint = "openblas_get_config")]
    private static unsafe partial byte* openblas_get_config();

    // void openblas_set_num_threads(int num_threads); process-wide.
    [LibraryImport(NativeLibraryNames.OpenBlas, EntryPoint = "openblas_set_num_threads")]
    private static partial void openblas_set_num_threads(int threads);

    // int openblas_get_num_threads(void);
    [LibraryImport(NativeLibraryNames.OpenBlas, EntryPoint = "openblas_get_num_threads")]
    private static partial int openblas_get_num_threads();

    /// <summary>The build configuration, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".</summary>
    public static unsafe string GetConfiguration() => System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)openblas_get_config()) ?? string.Empty;

    /// <summary>Sets the process-wide thread count.</summary>
    public static void SetThreadCount(int threads) => openblas_set_num_threads(threads);

    /// <summary>The process-wide thread count.</summary>
    public static int GetThreadCount() => openblas_get_num_threads();
}
