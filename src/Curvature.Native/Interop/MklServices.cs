using System.Runtime.InteropServices;

namespace Curvature.Native.Interop;

/// <summary>
/// MKL service functions (<c>mkl_service.h</c>). The C API's symbols are the mixed-case ones (<c>MKL_Set_Interface_Layer</c>…):
/// <c>mkl_service.h</c> #defines the lower-case names to them, and the lower-case <b>exports</b> of <c>libmkl_rt</c> are the
/// Fortran interface, which takes its arguments by reference (calling <c>mkl_set_interface_layer(0)</c> by value crashes).
/// </summary>
internal static partial class MklServices
{
    /// <summary><c>MKL_INTERFACE_LP64</c>: 32-bit integers.</summary>
    public const int InterfaceLp64 = 0;

    /// <summary><c>MKL_INTERFACE_ILP64</c> bit.</summary>
    public const int InterfaceIlp64Bit = 1;

    /// <summary><c>MKL_THREADING_SEQUENTIAL</c>.</summary>
    public const int ThreadingSequential = 1;

    // int MKL_Set_Interface_Layer(int code); returns the interface layer in force (only the first call has an effect).
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Interface_Layer")]
    public static partial int MKL_Set_Interface_Layer(int code);

    // int MKL_Set_Threading_Layer(int code); returns the threading layer in force.
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Threading_Layer")]
    public static partial int MKL_Set_Threading_Layer(int code);

    // void MKL_Get_Version_String(char* buffer, int len);
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Get_Version_String")]
    public static unsafe partial void MKL_Get_Version_String(byte* buffer, int length);

    // void MKL_Set_Num_Threads(int nt); process-wide default.
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Num_Threads")]
    public static partial void MKL_Set_Num_Threads(int threads);

    // int MKL_Set_Num_Threads_Local(int nt); calling thread only, returns the previous value (not used: see NativeProvider).
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Set_Num_Threads_Local")]
    public static partial int MKL_Set_Num_Threads_Local(int threads);

    // int MKL_Get_Max_Threads(void);
    [LibraryImport(NativeLibraryNames.Mkl, EntryPoint = "MKL_Get_Max_Threads")]
    public static partial int MKL_Get_Max_Threads();
}
