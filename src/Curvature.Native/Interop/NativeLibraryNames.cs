namespace Curvature.Native.Interop;

/// <summary>
/// Logical library names used by the <c>[LibraryImport]</c> declarations of the provider-specific service functions.
/// They never reach the OS loader: the assembly's single <c>DllImportResolver</c> (registered by
/// <see cref="Internals.NativeLibraryLoader"/>) maps each one to the handle the loader already opened for that provider.
/// </summary>
internal static class NativeLibraryNames
{
    /// <summary>The OpenBLAS handle (e.g. <c>libopenblas.so.0</c>).</summary>
    public const string OpenBlas = "curvature-openblas";

    /// <summary>The MKL single dynamic library handle (<c>libmkl_rt.so</c>).</summary>
    public const string Mkl = "curvature-mkl";
}
