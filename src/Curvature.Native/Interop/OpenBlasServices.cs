using System.Runtime.InteropServices;

namespace Curvature.Native.Interop;

/// <summary>OpenBLAS service functions (<c>cblas.h</c> of OpenBLAS).</summary>
internal static partial class OpenBlasServices
{
    // char* openblas_get_config(void); e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    [LibraryImport(NativeLibraryNames.OpenBlas, EntryPoint = "openblas_get_config")]
    public static unsafe partial byte* openblas_get_config();

    // void openblas_set_num_threads(int num_threads); process-wide.
    [LibraryImport(NativeLibraryNames.OpenBlas, EntryPoint = "openblas_set_num_threads")]
    public static partial void openblas_set_num_threads(int threads);

    // int openblas_get_num_threads(void);
    [LibraryImport(NativeLibraryNames.OpenBlas, EntryPoint = "openblas_get_num_threads")]
    public static partial int openblas_get_num_threads();
}
