using System.Diagnostics.CodeAnalysis;
using Curvature.Backends;
using Curvature.Internals;
using Curvature.Native.Interop;
using Curvature.Native.Internals;

namespace Curvature.Native;

/// <summary>
/// The backend over a native BLAS/LAPACK provider: OpenBLAS or Intel MKL (<c>mkl_rt</c>, LP64 interface, sequential
/// threading layer). Both providers can be used in the same process.
/// </summary>
/// <remarks>
/// <para>Routines: BLAS <c>cblas_?gemm</c>, <c>cblas_?syrk</c> and <c>cblas_?trsm</c> (row-major, operands passed in
/// place with their row stride as leading dimension); LAPACK <c>?potrf</c>, <c>?potri</c> and <c>?syevd</c> through the
/// column-major Fortran routines with <c>uplo</c> swapped (a row-major lower triangle is a column-major upper one), so
/// nothing is copied or transposed except the eigenvectors, which <c>?syevd</c> leaves as rows of the row-major buffer
/// and which are transposed in place into columns. The <c>?syevd</c> workspace is queried once per size and kept in a
/// per-thread native buffer: the steady state allocates nothing.</para>
/// <para>Thread count: a property of the loaded library, process-wide and shared by every <see cref="NativeBackend"/> of
/// the same provider. MKL runs its sequential layer (one thread per call). Concurrent calls from several threads are
/// safe at one thread per call; never combine a multi-threaded provider with parallel .NET callers.</para>
/// </remarks>
public sealed unsafe class NativeBackend : CurvatureBackend
{
    private readonly NativeProvider _provider;
    private readonly BlasLapackExports _lib;
    private readonly int _providerId;

    private NativeBackend(NativeProvider provider, string selectionReason)
    {
        _provider = provider;
        _lib = provider.Exports;
        _providerId = (int)provider.Kind;
        SelectionReason = selectionReason;
    }

    /// <inheritdoc />
    public override string Name => _provider.Name;

    /// <inheritdoc />
    public override BackendKind Kind => _provider.Kind;

    /// <summary>The library file (or name the OS loader resolved) this backend runs on.</summary>
    public string LibraryPath => _provider.LibraryPath;

    /// <summary>The file the library was mapped from (on Linux read from <c>/proc/self/maps</c>; otherwise <see cref="LibraryPath"/>).</summary>
    public string LibraryFile => _provider.FilePath;

    /// <summary>The provider's version string (<c>MKL_Get_Version_String</c> / <c>openblas_get_config</c>).</summary>
    public string Version => _provider.Version;

    /// <summary>Why this provider was chosen.</summary>
    public string SelectionReason { get; }

    /// <summary>The provider's BLAS/LAPACK entry points (the benchmarks call them bare, from the same library handle).</summary>
    internal BlasLapackExports Exports => _lib;

    /// <inheritdoc />
    public override int ThreadCount => _provider.ThreadCount;

    /// <inheritdoc />
    /// <remarks>Process-wide for the provider: OpenBLAS <c>openblas_set_num_threads</c>; MKL <c>MKL_Set_Num_Threads</c>
    /// (global rather than the per-calling-thread <c>MKL_Set_Num_Threads_Local</c>, so a backend used from a thread pool
    /// behaves the same on every thread). Under MKL's sequential layer calls still run on one thread.</remarks>
    public override void SetThreadCount(int threads) => _provider.SetThreadCount(threads);

    /// <inheritdoc />
    public override string Describe() =>
        $"{Name} backend: {Version}; library {LibraryPath}{(LibraryFile != LibraryPath ? $" ({LibraryFile})" : string.Empty)}; {_provider.Threading}; threads = {ThreadCount};{(IsReproducible ? " reproducible mode (conditional numerical reproducibility);" : string.Empty)} chosen because {SelectionReason}";

    /// <summary>True when MKL runs in its conditional numerical reproducibility mode (see
    /// <see cref="NativeBackendOptions.Reproducible"/>; also when the <c>MKL_CBWR</c> environment variable turned it on).
    /// Always false for OpenBLAS.</summary>
    public bool IsReproducible => _provider.Reproducible;

    /// <summary>Loads a native backend.</summary>
    /// <param name="options">Provider (<see cref="BackendChoice.Auto"/>: OpenBLAS on non-Intel CPUs, MKL on Intel, then the
    /// other one), an optional explicit library path, and the thread count (default 1). <see cref="BackendChoice.Managed"/>
    /// is not accepted here (use <see cref="BackendSelector"/>).</param>
    /// <exception cref="BackendUnavailableException">No requested library could be loaded; the message lists every path tried and its error.</exception>
    public static NativeBackend Load(NativeBackendOptions? options = null)
    {
        options ??= new NativeBackendOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ThreadCount, 1, nameof(options));
        NativeProvider provider;
        string reason;
        switch (options.Backend)
        {
            case BackendChoice.OpenBlas:
            case BackendChoice.Mkl:
                var kind = options.Backend == BackendChoice.Mkl ? BackendKind.Mkl : BackendKind.OpenBlas;
                provider = NativeLibraryLoader.Load(kind, options.LibraryPath, options.Reproducible);
                reason = options.LibraryPath is null
                    ? $"{NativeLibraryLoader.DisplayName(kind)} was requested explicitly"
                    : $"{NativeLibraryLoader.DisplayName(kind)} was requested explicitly from '{options.LibraryPath}'";
                break;
            case BackendChoice.Auto when options.LibraryPath is not null:
                var detected = NativeLibraryLoader.DetectKind(options.LibraryPath);
                provider = NativeLibraryLoader.Load(detected, options.LibraryPath, options.Reproducible);
                reason = $"auto with an explicit library: '{options.LibraryPath}' is {NativeLibraryLoader.DisplayName(detected)}";
                break;
            case BackendChoice.Auto:
                (provider, reason) = LoadAuto(options.Reproducible);
                break;
            default:
                throw new ArgumentException($"NativeBackend loads native providers only, not '{options.Backend}'.", nameof(options));
        }

        provider.SetThreadCount(options.ThreadCount);
        return new NativeBackend(provider, reason);
    }

    private static (NativeProvider Provider, string Reason) LoadAuto(bool reproducible)
    {
        string vendor = CpuVendor.Name;
        bool intel = CpuVendor.IsIntel;
        var preferred = intel ? BackendKind.Mkl : BackendKind.OpenBlas;
        var other = intel ? BackendKind.OpenBlas : BackendKind.Mkl;
        string why = intel
            ? $"auto: MKL is preferred on an Intel CPU ({vendor})"
            : $"auto: OpenBLAS is preferred on a non-Intel CPU ({vendor}), where MKL 2020 runs its generic code path (1.1–1.6× slower)";
        try
        {
            return (NativeLibraryLoader.Load(preferred, null, reproducible), why);
        }
        catch (BackendUnavailableException first)
        {
            try
            {
                var fallback = NativeLibraryLoader.Load(other, null, reproducible);
                return (fallback, $"{why}, but {NativeLibraryLoader.DisplayName(preferred)} is unavailable, so {NativeLibraryLoader.DisplayName(other)} was used");
            }
            catch (BackendUnavailableException second)
            {
                throw new BackendUnavailableException($"No native BLAS/LAPACK provider could be loaded.{Environment.NewLine}{first.Message}{Environment.NewLine}{second.Message}", second);
            }
        }
    }

    // ───────────────────────────── GEMM ─────────────────────────────

    private protected override void GemmCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> b, bool transposeB, MatrixRef<double> c, int k, double alpha, double beta)
    {
        int m = c.Rows, n = c.Cols;
        if (k == 0)
        {
            ScaleRectangle(c, beta); // nothing to multiply; A and B may have no valid origin
            return;
        }

        EnsureLeadingDimension(a.Stride, transposeA ? m : k);
        EnsureLeadingDimension(b.Stride, transposeB ? k : n);
        EnsureLeadingDimension(c.Stride, n);
        ref double ra = ref a.Origin;
        ref double rb = ref b.Origin;
        ref double rc = ref c.Origin;
        fixed (double* pa = &ra, pb = &rb, pc = &rc)
        {
            _lib.Gemm(transposeA, transposeB, m, n, k, alpha, pa, a.Stride, pb, b.Stride, beta, pc, c.Stride);
        }
    }

    private protected override void GemmCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> b, bool transposeB, MatrixRef<float> c, int k, float alpha, float beta)
    {
        int m = c.Rows, n = c.Cols;
        if (k == 0)
        {
            ScaleRectangle(c, beta);
            return;
        }

        EnsureLeadingDimension(a.Stride, transposeA ? m : k);
        EnsureLeadingDimension(b.Stride, transposeB ? k : n);
        EnsureLeadingDimension(c.Stride, n);
        ref float ra = ref a.Origin;
        ref float rb = ref b.Origin;
        ref float rc = ref c.Origin;
        fixed (float* pa = &ra, pb = &rb, pc = &rc)
        {
            _lib.Gemm(transposeA, transposeB, m, n, k, alpha, pa, a.Stride, pb, b.Stride, beta, pc, c.Stride);
        }
    }

    // ───────────────────────────── SYRK ─────────────────────────────

    private protected override void SyrkCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> c, bool lower, int n, int k, double alpha, double beta)
    {
        if (k == 0)
        {
            ScaleTriangle(c, lower, beta);
            return;
        }

        EnsureLeadingDimension(a.Stride, transposeA ? n : k);
        EnsureLeadingDimension(c.Stride, n);
        ref double ra = ref a.Origin;
        ref double rc = ref c.Origin;
        fixed (double* pa = &ra, pc = &rc)
        {
            if (lower && UpperSyrkIsFaster(n, k))
            {
                SyrkLowerThroughUpper(a, pa, transposeA, c, n, k, alpha, beta);
                return;
            }

            _lib.Syrk(lower, transposeA, n, k, alpha, pa, a.Stride, beta, pc, c.Stride);
        }
    }

    /// <summary>
    /// MKL (2020, double) runs its row-major <b>upper</b> SYRK (column-major 'L') 15–25 % faster than the lower one for
    /// n ≥ 512 on AMD CPUs (measured in one process, interleaved, 1 thread); below about n = 384, or for thin updates,
    /// the two transposing copies the detour costs eat the gain. OpenBLAS and MKL's float SYRK show no such difference.
    /// </summary>
    private bool UpperSyrkIsFaster(int n, int k) => _provider.Kind == BackendKind.Mkl && n >= 384 && k >= 128;

    /// <summary>Lower(C) ← α·op(A)ᵀop(A) + β·lower(C) computed by the upper SYRK in a per-thread scratch matrix S:
    /// S's upper triangle ← lower(C)ᵀ (when β ≠ 0), SYRK on S's upper triangle, lower(C) ← S's upper triangleᵀ. Only
    /// C's lower triangle is read and written.</summary>
    private void SyrkLowerThroughUpper(MatrixRef<double> a, double* pa, bool transposeA, MatrixRef<double> c, int n, int k, double alpha, double beta)
    {
        double* ps = NativeWorkspace.Current.Matrix<double>((long)n * n);
        var scratch = new MatrixRef<double>(ref *ps, n, n, n);
        if (beta != 0)
        {
            SymmetricStorage.CopyTransposedTriangle(c, scratch, fromLower: true);
        }

        _lib.Syrk(false, transposeA, n, k, alpha, pa, a.Stride, beta, ps, n);
        SymmetricStorage.CopyTransposedTriangle(scratch, c, fromLower: false);
    }

    private protected override void SyrkCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> c, bool lower, int n, int k, float alpha, float beta)
    {
        if (k == 0)
        {
            ScaleTriangle(c, lower, beta);
            return;
        }

        EnsureLeadingDimension(a.Stride, transposeA ? n : k);
        EnsureLeadingDimension(c.Stride, n);
        ref float ra = ref a.Origin;
        ref float rc = ref c.Origin;
        fixed (float* pa = &ra, pc = &rc)
        {
            _lib.Syrk(lower, transposeA, n, k, alpha, pa, a.Stride, beta, pc, c.Stride);
        }
    }

    // ───────────────────────────── Cholesky ─────────────────────────────
    // Row-major lower = column-major upper: the Fortran routines get uplo = 'U' for a row-major lower triangle.

    private protected override int PotrfCore(MatrixRef<double> a, bool lower)
    {
        EnsureLapackSquare(a.Rows, a.Stride);
        ref double ra = ref a.Origin;
        fixed (double* pa = &ra)
        {
            return CheckInfo(_lib.Potrf(lower, a.Rows, pa, a.Stride), "potrf");
        }
    }

    private protected override int PotrfCore(MatrixRef<float> a, bool lower)
    {
        EnsureLapackSquare(a.Rows, a.Stride);
        ref float ra = ref a.Origin;
        fixed (float* pa = &ra)
        {
            return CheckInfo(_lib.Potrf(lower, a.Rows, pa, a.Stride), "potrf");
        }
    }

    private protected override int PotriCore(MatrixRef<double> a, bool lower)
    {
        EnsureLapackSquare(a.Rows, a.Stride);
        ref double ra = ref a.Origin;
        fixed (double* pa = &ra)
        {
            return CheckInfo(_lib.Potri(lower, a.Rows, pa, a.Stride), "potri");
        }
    }

    private protected override int PotriCore(MatrixRef<float> a, bool lower)
    {
        EnsureLapackSquare(a.Rows, a.Stride);
        ref float ra = ref a.Origin;
        fixed (float* pa = &ra)
        {
            return CheckInfo(_lib.Potri(lower, a.Rows, pa, a.Stride), "potri");
        }
    }

    // ?POTRS semantics as two row-major triangular solves. Lower (A = L·Lᵀ): L·Y = B, then Lᵀ·X = Y.
    // Upper (A = Uᵀ·U): Uᵀ·Y = B, then U·X = Y.
    private protected override void PotrsCore(MatrixRef<double> factor, bool lower, MatrixRef<double> b)
    {
        int n = factor.Rows, nrhs = b.Cols;
        EnsureLeadingDimension(factor.Stride, n);
        EnsureLeadingDimension(b.Stride, nrhs);
        ref double rf = ref factor.Origin;
        ref double rb = ref b.Origin;
        fixed (double* pf = &rf, pb = &rb)
        {
            _lib.TriangularSolveLeft(lower, !lower, n, nrhs, pf, factor.Stride, pb, b.Stride);
            _lib.TriangularSolveLeft(lower, lower, n, nrhs, pf, factor.Stride, pb, b.Stride);
        }
    }

    private protected override void PotrsCore(MatrixRef<float> factor, bool lower, MatrixRef<float> b)
    {
        int n = factor.Rows, nrhs = b.Cols;
        EnsureLeadingDimension(factor.Stride, n);
        EnsureLeadingDimension(b.Stride, nrhs);
        ref float rf = ref factor.Origin;
        ref float rb = ref b.Origin;
        fixed (float* pf = &rf, pb = &rb)
        {
            _lib.TriangularSolveLeft(lower, !lower, n, nrhs, pf, factor.Stride, pb, b.Stride);
            _lib.TriangularSolveLeft(lower, lower, n, nrhs, pf, factor.Stride, pb, b.Stride);
        }
    }

    // ───────────────────────────── Symmetric eigendecomposition ─────────────────────────────

    private protected override int SyevdCore(MatrixRef<double> a, bool lower, Span<double> eigenvalues)
    {
        int n = a.Rows, lda = a.Stride;
        EnsureLapackSquare(n, lda);

        var workspace = NativeWorkspace.Current;
        int info;
        ref double ra = ref a.Origin;
        fixed (double* pa = &ra, pw = eigenvalues)
        {
            if (!workspace.TryGetSizes(_providerId, sizeof(double), n, out int lwork, out int liwork))
            {
                double workQuery = 0;
                int iworkQuery = 0;
                CheckInfo(_lib.Syevd(lower, n, pa, lda, pw, &workQuery, -1, &iworkQuery, -1), "syevd");
                (lwork, liwork) = SyevdSizes(n, workQuery, iworkQuery);
                workspace.SetSizes(_providerId, sizeof(double), n, lwork, liwork);
            }

            info = CheckInfo(_lib.Syevd(lower, n, pa, lda, pw, workspace.Work<double>(lwork), lwork, workspace.IWork(liwork), liwork), "syevd");
        }

        if (info == 0)
        {
            SymmetricStorage.TransposeInPlace(a); // eigenvectors: rows of the row-major buffer → columns
        }

        return info;
    }

    private protected override int SyevdCore(MatrixRef<float> a, bool lower, Span<float> eigenvalues)
    {
        int n = a.Rows, lda = a.Stride;
        EnsureLapackSquare(n, lda);

        var workspace = NativeWorkspace.Current;
        int info;
        ref float ra = ref a.Origin;
        fixed (float* pa = &ra, pw = eigenvalues)
        {
            if (!workspace.TryGetSizes(_providerId, sizeof(float), n, out int lwork, out int liwork))
            {
                float workQuery = 0;
                int iworkQuery = 0;
                CheckInfo(_lib.Syevd(lower, n, pa, lda, pw, &workQuery, -1, &iworkQuery, -1), "syevd");
                (lwork, liwork) = SyevdSizes(n, workQuery, iworkQuery);
                workspace.SetSizes(_providerId, sizeof(float), n, lwork, liwork);
            }

            info = CheckInfo(_lib.Syevd(lower, n, pa, lda, pw, workspace.Work<float>(lwork), lwork, workspace.IWork(liwork), liwork), "syevd");
        }

        if (info == 0)
        {
            SymmetricStorage.TransposeInPlace(a);
        }

        return info;
    }

    // ───────────────────────────── helpers ─────────────────────────────

    /// <summary>Workspace sizes: the larger of the provider's answer and LAPACK's documented minimum for jobz = 'V'
    /// (1 + 6n + 2n², 3 + 5n). The minimum also guards against a single-precision query that rounded down.</summary>
    private static (int Work, int IWork) SyevdSizes(int n, double workQuery, int iworkQuery)
    {
        long minWork = 1 + (6L * n) + (2L * n * n);
        long minIWork = 3 + (5L * n);
        long work = Math.Max(minWork, double.IsFinite(workQuery) ? (long)Math.Ceiling(Math.Min(workQuery, long.MaxValue / 2.0)) : 0);
        long iwork = Math.Max(minIWork, iworkQuery);
        if (work > int.MaxValue || iwork > int.MaxValue)
        {
            ThrowTooLarge(n);
        }

        return ((int)work, (int)iwork);
    }

    /// <summary>LAPACK (LP64) indexes with 32-bit integers: refuse matrices whose storage it cannot address.</summary>
    private static void EnsureLapackSquare(int n, int lda)
    {
        EnsureLeadingDimension(lda, n);
        if ((long)lda * n > int.MaxValue)
        {
            ThrowTooLarge(n);
        }
    }

    private static void EnsureLeadingDimension(int ld, int columns)
    {
        if (ld < Math.Max(1, columns))
        {
            ThrowLeadingDimension(ld, columns);
        }
    }

    private static int CheckInfo(int info, string routine)
    {
        if (info < 0)
        {
            ThrowIllegalArgument(routine, info);
        }

        return info;
    }

    [DoesNotReturn]
    private static void ThrowTooLarge(int n) =>
        throw new NotSupportedException($"A {n} × {n} matrix is too large for the 32-bit (LP64) LAPACK interface.");

    [DoesNotReturn]
    private static void ThrowLeadingDimension(int ld, int columns) =>
        throw new InvalidOperationException($"Internal error: leading dimension {ld} is smaller than the row length {columns}.");

    [DoesNotReturn]
    private static void ThrowIllegalArgument(string routine, int info) =>
        throw new InvalidOperationException($"Internal error: LAPACK ?{routine} rejected argument {-info}.");

    private static void ScaleRectangle<T>(MatrixRef<T> c, T beta)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < c.Rows; i++)
        {
            var row = c.Row(i);
            for (int j = 0; j < row.Length; j++)
            {
                row[j] = T.IsZero(beta) ? T.Zero : beta * row[j];
            }
        }
    }

    private static void ScaleTriangle<T>(MatrixRef<T> c, bool lower, T beta)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = c.Rows;
        for (int i = 0; i < n; i++)
        {
            int from = lower ? 0 : i, to = lower ? i : n - 1;
            for (int j = from; j <= to; j++)
            {
                ref T v = ref c.At(i, j);
                v = T.IsZero(beta) ? T.Zero : beta * v;
            }
        }
    }
}
