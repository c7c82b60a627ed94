using System.Runtime.InteropServices;

namespace Curvature.Native.Interop;

/// <summary>
/// MKL service functions (<c>mkl_service.h</c>). The C API's symbols are the mixed-case ones (<c>MKL_Set_Interface_Layer</c>…):
/// <c>mkl_service.h</c> #defines the lower-case names to them, and the lower-case <b>exports</b> of <c>libmkl_rt</c> are the
/// Fortran interface, which takes its arguments by reference (calling <c>mkl_set_interface_layer(0)</c> by value crashes).
/// </summary>
internal static partial class MklServices
{
    /// <summary>An export only MKL has (tells <c>libmkl_rt</c> apart from other BLAS libraries).</summary>
    public const string IdentityExport = "MKL_Set_Interface_Layer";

    /// <summary><c>MKL_INTERFACE_LP64</c>: 32-bit integers.</summary>
    public const int InterfaceLp64 = 0;

    /// <summary><c>MKL_INTERFACE_ILP64</c> bit.</summary>
    public const int InterfaceIlp64Bit = 1;

    /// <summary><c>MKL_THREADING_SEQUENTIAL</c>.</summary>
    public const int ThreadingSequential = 1;

    // int MKL_Set_Interface_Layer(int code); returns the interface layer in force (only the first call has an effect).
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Interface_Layer")]
    private static partial int MKL_Set_Interface_Layer(int code);

    // int MKL_Set_Threading_Layer(int code); returns the threading layer in force.
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Threading_Layer")]
    private static partial int MKL_Set_Threading_Layer(int code);

    // void MKL_Get_Version_String(char* buffer, int len);
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Get_Version_String")]
    private static unsafe partial void MKL_Get_Version_String(byte* buffer, int length);

    // void MKL_Set_Num_Threads(int nt); process-wide default.
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Num_Threads")]
    private static partial void MKL_Set_Num_Threads(int threads);

    // int MKL_Get_Max_Threads(void);
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Get_Max_Threads")]
    private static partial int MKL_Get_Max_Threads();

    /// <summary><c>MKL_CBWR_AUTO</c>: conditional numerical reproducibility on the code branch MKL picks for this CPU.</summary>
    public const int CbwrAuto = 2;

    /// <summary><c>MKL_CBWR_BRANCH</c>: the option <see cref="GetReproducibilityBranch"/> queries.</summary>
    private const int CbwrBranch = 1;

    /// <summary><c>MKL_CBWR_SUCCESS</c>.</summary>
    public const int CbwrSuccess = 0;

    // int MKL_CBWR_Set(int settings); the C interface (the lower-case export is the Fortran one, by reference).
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_CBWR_Set")]
    private static partial int MKL_CBWR_Set(int settings);

    // int MKL_CBWR_Get(int option);
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_CBWR_Get")]
    private static partial int MKL_CBWR_Get(int option);

    /// <summary>Turns on conditional numerical reproducibility with the given branch; returns <c>MKL_CBWR_SUCCESS</c> (0) or a negative error.</summary>
    public static int SetReproducibility(int branch) => MKL_CBWR_Set(branch);

    /// <summary>The CNR branch in force (<c>MKL_CBWR_OFF</c> = 0 when reproducibility is off).</summary>
    public static int GetReproducibilityBranch() => MKL_CBWR_Get(CbwrBranch);

    /// <summary>Selects the integer interface; must be the first MKL call. Returns the layer in force.</summary>
    public static int SetInterfaceLayer(int code) => MKL_Set_Interface_Layer(code);

    /// <summary>Selects the threading layer. Returns the layer in force.</summary>
    public static int SetThreadingLayer(int code) => MKL_Set_Threading_Layer(code);

    /// <summary>The version string, e.g. "Intel(R) Math Kernel Library Version 2020.0.4 …".</summary>
    public static unsafe string GetVersion()
    {
        const int Length = 256;
        byte* buffer = stackalloc byte[Length];
        new Span<byte>(buffer, Length).Clear();
        MKL_Get_Version_String(buffer, Length);
        return System.Text.Encoding.UTF8.GetString(new ReadOnlySpan<byte>(buffer, Length).TrimEnd((byte)0)).Trim();
    }

    /// <summary>Sets the process-wide default thread count (not the per-calling-thread <c>MKL_Set_Num_Threads_Local</c>,
    /// which would make a backend behave differently on every thread-pool thread).</summary>
    public static void SetThreadCount(int threads) => MKL_Set_Num_Threads(threads);

    /// <summary>The number of threads a call may use.</summary>
    public static int GetThreadCount() => MKL_Get_Max_Threads();
}
