using System.Runtime.InteropServices;

namespace Curvature.Native.Interop;

/// <summary>
/// glibc's <c>dlopen</c>, for loading a BLAS provider with <c>RTLD_DEEPBIND</c>: the provider's references to symbols it
/// defines itself (OpenBLAS calling its own <c>dsytrd_</c>, <c>dtrtri_</c>…) then bind to its own definitions, not to
/// those of another provider already in the global scope (MKL's <c>libmkl_rt</c> loads its LAPACK layer with
/// <c>RTLD_GLOBAL</c>). <see cref="NativeLibrary.Load(string)"/> offers no flags, so the function is taken from
/// <c>libc.so.6</c> (glibc ≥ 2.34) or <c>libdl.so.2</c> and called through a function pointer.
/// </summary>
internal static unsafe class DynamicLinker
{
    /// <summary><c>RTLD_LAZY</c>.</summary>
    private const int Lazy = 0x1;

    /// <summary><c>RTLD_DEEPBIND</c> (glibc): own symbols before the global scope.</summary>
    private const int DeepBind = 0x8;

    private static readonly delegate* unmanaged<byte*, int, nint> s_dlopen;
    private static readonly delegate* unmanaged<byte*> s_dlerror;

    static DynamicLinker()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        foreach (string name in new[] { "libc.so.6", "libdl.so.2" })
        {
            if (NativeLibrary.TryLoad(name, out nint lib)
                && NativeLibrary.TryGetExport(lib, "dlopen", out nint open)
                && NativeLibrary.TryGetExport(lib, "dlerror", out nint error))
            {
                s_dlopen = (delegate* unmanaged<byte*, int, nint>)open;
                s_dlerror = (delegate* unmanaged<byte*>)error;
                return;
            }
        }
    }

    /// <summary>True where libraries can be opened with <c>RTLD_DEEPBIND</c> (Linux with glibc).</summary>
    public static bool IsAvailable => s_dlopen != null;

    /// <summary>Opens <paramref name="path"/> with <c>RTLD_LAZY | RTLD_LOCAL | RTLD_DEEPBIND</c>.</summary>
    /// <returns>The handle (usable with <see cref="NativeLibrary.GetExport"/> and <see cref="NativeLibrary.Free"/>), or 0
    /// with the loader's message in <paramref name="error"/>.</returns>
    public static nint OpenIsolated(string path, out string? error)
    {
        error = null;
        nint handle;
        IntPtr name = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            s_dlerror(); // clear a stale message
            handle = s_dlopen((byte*)name, Lazy | DeepBind);
            if (handle == 0)
            {
                error = Marshal.PtrToStringUTF8((nint)s_dlerror()) ?? "dlopen failed";
            }
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }

        return handle;
    }
}
