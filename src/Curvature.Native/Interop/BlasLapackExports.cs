using System.Runtime.InteropServices;

namespace Curvature.Native.Interop;

/// <summary>
/// The BLAS/LAPACK entry points of ONE loaded provider, as unmanaged function pointers taken from that provider's own
/// library handle.
/// </summary>
/// <remarks>
/// <para>Why function pointers and not <c>[LibraryImport]</c>: OpenBLAS and MKL export the same symbol names
/// (<c>cblas_dgemm</c>, <c>dpotrf_</c>…), and both providers must be usable in the same process. A <c>[LibraryImport]</c>
/// binds each declaration to one library per process (through the assembly's single resolver), so it cannot serve two
/// providers; <see cref="NativeLibrary.GetExport"/> on each handle can. The provider-specific service functions
/// (<see cref="MklServices"/>, <see cref="OpenBlasServices"/>) have distinct names per provider and use
/// <c>[LibraryImport]</c>.</para>
/// <para>All signatures are blittable. LAPACK is called through its column-major Fortran symbols (Debian's OpenBLAS
/// exports no LAPACKE): every scalar is passed by reference and each <c>CHARACTER</c> argument adds a hidden length
/// argument at the end (gfortran ABI: <c>size_t</c>, passed as <see cref="nuint"/> 1). The callers guarantee sizes and
/// leading dimensions are valid; these wrappers only forward.</para>
/// </remarks>
internal sealed unsafe class BlasLapackExports
{
    // void cblas_dgemm(layout, transa, transb, m, n, k, alpha, const double* a, lda, const double* b, ldb, beta, double* c, ldc)
    private readonly delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> cblas_dgemm;
    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> cblas_sgemm;

    // void cblas_dsyrk(layout, uplo, trans, n, k, alpha, const double* a, lda, beta, double* c, ldc)
    private readonly delegate* unmanaged<int, int, int, int, int, double, double*, int, double, double*, int, void> cblas_dsyrk;
    private readonly delegate* unmanaged<int, int, int, int, int, float, float*, int, float, float*, int, void> cblas_ssyrk;

    // void cblas_dtrsm(layout, side, uplo, transa, diag, m, n, alpha, const double* a, lda, double* b, ldb)
    private readonly delegate* unmanaged<int, int, int, int, int, int, int, double, double*, int, double*, int, void> cblas_dtrsm;
    private readonly delegate* unmanaged<int, int, int, int, int, int, int, float, float*, int, float*, int, void> cblas_strsm;

    // void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len)
    private readonly delegate* unmanaged<byte*, int*, double*, int*, int*, nuint, void> dpotrf_;
    private readonly delegate* unmanaged<byte*, int*, float*, int*, int*, nuint, void> spotrf_;

    // void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len)
    private readonly delegate* unmanaged<byte*, int*, double*, int*, int*, nuint, void> dpotri_;
    private readonly delegate* unmanaged<byte*, int*, float*, int*, int*, nuint, void> spotri_;

    // void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
    //              double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len, size_t uplo_len)
    private readonly delegate* unmanaged<byte*, byte*, int*, double*, int*, double*, double*, int*, int*, int*, int*, nuint, nuint, void> dsyevd_;
    private readonly delegate* unmanaged<byte*, byte*, int*, float*, int*, float*, float*, int*, int*, int*, int*, nuint, nuint, void> ssyevd_;

    /// <summary>An export every provider has, used to find the library file a handle was mapped from.</summary>
    public const string ProbeExport = "cblas_dgemm";

    /// <summary>Every symbol this table needs (for load diagnostics).</summary>
    public static readonly string[] RequiredSymbols =
    [
        "cblas_dgemm", "cblas_sgemm", "cblas_dsyrk", "cblas_ssyrk", "cblas_dtrsm", "cblas_strsm",
        "dpotrf_", "spotrf_", "dpotri_", "spotri_", "dsyevd_", "ssyevd_",
    ];

    private BlasLapackExports(nint handle)
    {
        cblas_dgemm = (delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)NativeLibrary.GetExport(handle, "cblas_dgemm");
        cblas_sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(handle, "cblas_sgemm");
        cblas_dsyrk = (delegate* unmanaged<int, int, int, int, int, double, double*, int, double, double*, int, void>)NativeLibrary.GetExport(handle, "cblas_dsyrk");
        cblas_ssyrk = (delegate* unmanaged<int, int, int, int, int, float, float*, int, float, float*, int, void>)NativeLibrary.GetExport(handle, "cblas_ssyrk");
        cblas_dtrsm = (delegate* unmanaged<int, int, int, int, int, int, int, double, double*, int, double*, int, void>)NativeLibrary.GetExport(handle, "cblas_dtrsm");
        cblas_strsm = (delegate* unmanaged<int, int, int, int, int, int, int, float, float*, int, float*, int, void>)NativeLibrary.GetExport(handle, "cblas_strsm");
        dpotrf_ = (delegate* unmanaged<byte*, int*, double*, int*, int*, nuint, void>)NativeLibrary.GetExport(handle, "dpotrf_");
        spotrf_ = (delegate* unmanaged<byte*, int*, float*, int*, int*, nuint, void>)NativeLibrary.GetExport(handle, "spotrf_");
        dpotri_ = (delegate* unmanaged<byte*, int*, double*, int*, int*, nuint, void>)NativeLibrary.GetExport(handle, "dpotri_");
        spotri_ = (delegate* unmanaged<byte*, int*, float*, int*, int*, nuint, void>)NativeLibrary.GetExport(handle, "spotri_");
        dsyevd_ = (delegate* unmanaged<byte*, byte*, int*, double*, int*, double*, double*, int*, int*, int*, int*, nuint, nuint, void>)NativeLibrary.GetExport(handle, "dsyevd_");
        ssyevd_ = (delegate* unmanaged<byte*, byte*, int*, float*, int*, float*, float*, int*, int*, int*, int*, nuint, nuint, void>)NativeLibrary.GetExport(handle, "ssyevd_");
    }

    /// <summary>Fills the table from <paramref name="handle"/>, or returns the names of the missing symbols.</summary>
    public static BlasLapackExports? TryCreate(nint handle, out string missing)
    {
        var absent = new List<string>();
        foreach (string symbol in RequiredSymbols)
        {
            if (!NativeLibrary.TryGetExport(handle, symbol, out _))
            {
                absent.Add(symbol);
            }
        }

        missing = string.Join(", ", absent);
        return absent.Count == 0 ? new BlasLapackExports(handle) : null;
    }

    // ───────── BLAS (row-major CBLAS) ─────────

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc) =>
        cblas_dgemm(Cblas.RowMajor, transA ? Cblas.Trans : Cblas.NoTrans, transB ? Cblas.Trans : Cblas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        cblas_sgemm(Cblas.RowMajor, transA ? Cblas.Trans : Cblas.NoTrans, transB ? Cblas.Trans : Cblas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void Syrk(bool lower, bool trans, int n, int k, double alpha, double* a, int lda, double beta, double* c, int ldc) =>
        cblas_dsyrk(Cblas.RowMajor, lower ? Cblas.Lower : Cblas.Upper, trans ? Cblas.Trans : Cblas.NoTrans, n, k, alpha, a, lda, beta, c, ldc);

    public void Syrk(bool lower, bool trans, int n, int k, float alpha, float* a, int lda, float beta, float* c, int ldc) =>
        cblas_ssyrk(Cblas.RowMajor, lower ? Cblas.Lower : Cblas.Upper, trans ? Cblas.Trans : Cblas.NoTrans, n, k, alpha, a, lda, beta, c, ldc);

    /// <summary>Row-major <c>B ← op(T)⁻¹·B</c>, T triangular (non-unit) on the left.</summary>
    public void TriangularSolveLeft(bool lower, bool trans, int m, int n, double* t, int ldt, double* b, int ldb) =>
        cblas_dtrsm(Cblas.RowMajor, Cblas.Left, lower ? Cblas.Lower : Cblas.Upper, trans ? Cblas.Trans : Cblas.NoTrans, Cblas.NonUnit, m, n, 1.0, t, ldt, b, ldb);

    /// <inheritdoc cref="TriangularSolveLeft(bool, bool, int, int, double*, int, double*, int)"/>
    public void TriangularSolveLeft(bool lower, bool trans, int m, int n, float* t, int ldt, float* b, int ldb) =>
        cblas_strsm(Cblas.RowMajor, Cblas.Left, lower ? Cblas.Lower : Cblas.Upper, trans ? Cblas.Trans : Cblas.NoTrans, Cblas.NonUnit, m, n, 1.0f, t, ldt, b, ldb);

    // ───────── LAPACK (column-major Fortran; uplo is the column-major triangle) ─────────

    public int Potrf(bool columnMajorUpper, int n, double* a, int lda)
    {
        byte uplo = columnMajorUpper ? (byte)'U' : (byte)'L';
        int info = 0;
        dpotrf_(&uplo, &n, a, &lda, &info, 1);
        return info;
    }

    public int Potrf(bool columnMajorUpper, int n, float* a, int lda)
    {
        byte uplo = columnMajorUpper ? (byte)'U' : (byte)'L';
        int info = 0;
        spotrf_(&uplo, &n, a, &lda, &info, 1);
        return info;
    }

    public int Potri(bool columnMajorUpper, int n, double* a, int lda)
    {
        byte uplo = columnMajorUpper ? (byte)'U' : (byte)'L';
        int info = 0;
        dpotri_(&uplo, &n, a, &lda, &info, 1);
        return info;
    }

    public int Potri(bool columnMajorUpper, int n, float* a, int lda)
    {
        byte uplo = columnMajorUpper ? (byte)'U' : (byte)'L';
        int info = 0;
        spotri_(&uplo, &n, a, &lda, &info, 1);
        return info;
    }

    /// <summary>?SYEVD with <c>jobz = 'V'</c>; <paramref name="lwork"/> = -1 is a workspace query.</summary>
    public int Syevd(bool columnMajorUpper, int n, double* a, int lda, double* w, double* work, int lwork, int* iwork, int liwork)
    {
        byte jobz = (byte)'V';
        byte uplo = columnMajorUpper ? (byte)'U' : (byte)'L';
        int info = 0;
        dsyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info, 1, 1);
        return info;
    }

    /// <inheritdoc cref="Syevd(bool, int, double*, int, double*, double*, int, int*, int)"/>
    public int Syevd(bool columnMajorUpper, int n, float* a, int lda, float* w, float* work, int lwork, int* iwork, int liwork)
    {
        byte jobz = (byte)'V';
        byte uplo = columnMajorUpper ? (byte)'U' : (byte)'L';
        int info = 0;
        ssyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info, 1, 1);
        return info;
    }
}
