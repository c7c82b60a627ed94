using System.Numerics;
using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.Internals;

namespace Curvature.Backends;

/// <summary>
/// The narrow BLAS/LAPACK subset Curvature is built on — GEMM, SYRK, Cholesky factor / inverse / solve and the
/// symmetric eigendecomposition — for <see cref="float"/> and <see cref="double"/>, on row-major
/// <see cref="Span2D{T}"/> views with any pitch.
/// </summary>
/// <remarks>
/// <para>Every public method validates its arguments here, in shared code, before dispatching to the
/// implementation, so all backends (<see cref="Managed.ManagedBackend"/>, the native MKL/OpenBLAS backend in
/// Curvature.Native) accept and reject exactly the same inputs with <see cref="ArgumentException"/>s.
/// Numerical failures are reported through <see cref="FactorizationStatus"/> by the <c>Try…</c> methods and as
/// typed exceptions (<see cref="MatrixNotPositiveDefiniteException"/>, <see cref="EigenDecompositionFailedException"/>)
/// by their throwing twins.</para>
/// <para>Backends are stateless apart from thread settings and per-thread scratch: concurrent calls from several
/// threads are safe. Only the triangle a symmetric routine is documented to write is written; everything else
/// (the other triangle, row padding) is left untouched.</para>
/// </remarks>
public abstract class CurvatureBackend
{
    private protected CurvatureBackend()
    {
    }

    /// <summary>Short name of the backend, e.g. <c>"managed"</c>, <c>"openblas"</c> or <c>"mkl"</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The implementation behind this backend.</summary>
    public abstract BackendKind Kind { get; }

    /// <summary>Number of threads one kernel call may use.</summary>
    public abstract int ThreadCount { get; }

    /// <summary>Sets the number of threads one kernel call may use (1 = sequential, the default).</summary>
    /// <remarks>Never call kernels of a multi-threaded backend from parallel .NET code: exactly one level of
    /// parallelism should be active at a time.</remarks>
    public abstract void SetThreadCount(int threads);

    /// <summary>A human-readable description: library, version, threads, and why this backend was chosen.</summary>
    public abstract string Describe();

    /// <inheritdoc />
    public override string ToString() => Name;

    // ───────────────────────────── GEMM ─────────────────────────────

    /// <summary>General matrix product <c>C ← α·op(A)·op(B) + β·C</c>.</summary>
    /// <param name="a">Row-major A; op(A) is <c>m × k</c>.</param>
    /// <param name="transposeA">Whether op(A) = Aᵀ.</param>
    /// <param name="b">Row-major B; op(B) is <c>k × n</c>.</param>
    /// <param name="transposeB">Whether op(B) = Bᵀ.</param>
    /// <param name="c">Row-major C, <c>m × n</c>; must not overlap A or B.</param>
    /// <param name="alpha">Scale of the product (finite); when it is 0, A and B are not read.</param>
    /// <param name="beta">Scale of C's old value (finite); when it is 0, C is not read (NaN in C does not propagate).</param>
    /// <exception cref="ArgumentException">Shapes that do not fit (the message names the operand that does not fit A and B:
    /// <paramref name="b"/> when the inner dimensions differ, then <paramref name="c"/>), overlapping operands, or a
    /// NaN or infinite <paramref name="alpha"/> or <paramref name="beta"/>.</exception>
    /// <remarks>BLAS <c>?GEMM</c> (<c>cblas_sgemm</c> / <c>cblas_dgemm</c>, row-major).</remarks>
    public void MatrixMultiply<T>(ReadOnlySpan2D<T> a, Transpose transposeA, ReadOnlySpan2D<T> b, Transpose transposeB, Span2D<T> c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var ma = MatrixRef<T>.From(a);
        var mb = MatrixRef<T>.From(b);
        var mc = MatrixRef<T>.From(c);
        bool ta = ValidateTranspose(transposeA, nameof(transposeA));
        bool tb = ValidateTranspose(transposeB, nameof(transposeB));
        KernelValidation.EnsureFinite(alpha, nameof(alpha));
        KernelValidation.EnsureFinite(beta, nameof(beta));

        // m, k and n come from the operands whose shape is known (an empty view may report 0 × 0 whatever it was
        // created with, CommunityToolkit#1101); A and B must agree on k, then C must be m × n.
        bool knownA = KernelValidation.HasKnownShape(ma), knownB = KernelValidation.HasKnownShape(mb), knownC = KernelValidation.HasKnownShape(mc);
        int m = knownA ? (ta ? ma.Cols : ma.Rows) : (knownC ? mc.Rows : 0);
        int k = knownA ? (ta ? ma.Rows : ma.Cols) : (knownB ? (tb ? mb.Cols : mb.Rows) : 0);
        int n = knownB ? (tb ? mb.Rows : mb.Cols) : (knownC ? mc.Cols : 0);
        if (knownA && knownB && (tb ? mb.Cols : mb.Rows) != k)
        {
            throw new ArgumentException(
                $"The inner dimensions differ: op(A) is {m} × {k}, so op(B) must have {k} rows, but it is {(tb ? mb.Cols : mb.Rows)} × {(tb ? mb.Rows : mb.Cols)}.", nameof(b));
        }

        KernelValidation.EnsureShape(mc, m, n, nameof(c), "C");
        KernelValidation.EnsureShape(ma, ta ? k : m, ta ? m : k, nameof(a), "A");
        KernelValidation.EnsureShape(mb, tb ? n : k, tb ? k : n, nameof(b), "B");
        KernelValidation.EnsureStride(ma, nameof(a));
        KernelValidation.EnsureStride(mb, nameof(b));
        KernelValidation.EnsureStride(mc, nameof(c));
        KernelValidation.EnsureNoOverlap(mc, ma, nameof(c), nameof(a));
        KernelValidation.EnsureNoOverlap(mc, mb, nameof(c), nameof(b));
        if (mc.IsEmpty)
        {
            return;
        }

        if (T.IsZero(alpha))
        {
            k = 0; // BLAS semantics: with α = 0, A and B are not referenced (NaN in them does not propagate)
        }

        if (typeof(T) == typeof(double))
        {
            GemmCore(ma.As<double>(), ta, mb.As<double>(), tb, mc.As<double>(), k, Unsafe.As<T, double>(ref alpha), Unsafe.As<T, double>(ref beta));
        }
        else
        {
            GemmCore(ma.As<float>(), ta, mb.As<float>(), tb, mc.As<float>(), k, Unsafe.As<T, float>(ref alpha), Unsafe.As<T, float>(ref beta));
        }
    }

    // ───────────────────────────── SYRK ─────────────────────────────

    /// <summary>Symmetric rank-k update <c>C ← α·AᵀA + β·C</c> or <c>C ← α·AAᵀ + β·C</c>, one triangle of C written.</summary>
    /// <param name="a">Row-major A: <c>k × n</c> for <see cref="RankKForm.TransposeTimesMatrix"/>, <c>n × k</c> otherwise.</param>
    /// <param name="form">Which product to accumulate.</param>
    /// <param name="c">Row-major C, <c>n × n</c>; only <paramref name="triangle"/> is read (when β ≠ 0) and written.</param>
    /// <param name="triangle">The triangle of C to update; the other one is left untouched.</param>
    /// <param name="alpha">Scale of the product (finite).</param>
    /// <param name="beta">Scale of C's old value (finite); when it is 0, C is not read.</param>
    /// <exception cref="ArgumentException">Shapes that do not fit (also an empty A whose other dimension is not C's order),
    /// overlapping operands, or a NaN or infinite <paramref name="alpha"/> or <paramref name="beta"/>.</exception>
    /// <remarks>BLAS <c>?SYRK</c> (<c>cblas_ssyrk</c> / <c>cblas_dsyrk</c>, row-major).</remarks>
    public void SymmetricRankKUpdate<T>(ReadOnlySpan2D<T> a, RankKForm form, Span2D<T> c, Triangle triangle, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var ma = MatrixRef<T>.From(a);
        var mc = MatrixRef<T>.From(c);
        ValidateTriangle(triangle, nameof(triangle));
        bool transposed = form switch
        {
            RankKForm.TransposeTimesMatrix => true,
            RankKForm.MatrixTimesTranspose => false,
            _ => throw new ArgumentOutOfRangeException(nameof(form), form, "Unknown rank-k form."),
        };
        KernelValidation.EnsureFinite(alpha, nameof(alpha));
        KernelValidation.EnsureFinite(beta, nameof(beta));
        KernelValidation.EnsureSquare(mc, nameof(c));
        int n = mc.IsEmpty ? 0 : mc.Rows;
        int k = !KernelValidation.HasKnownShape(ma) ? 0 : transposed ? ma.Rows : ma.Cols;
        KernelValidation.EnsureShape(ma, transposed ? k : n, transposed ? n : k, nameof(a), "A");

        KernelValidation.EnsureStride(ma, nameof(a));
        KernelValidation.EnsureStride(mc, nameof(c));
        KernelValidation.EnsureNoOverlap(mc, ma, nameof(c), nameof(a));
        if (n == 0)
        {
            return;
        }

        if (T.IsZero(alpha))
        {
            k = 0; // BLAS semantics: with α = 0, A is not referenced
        }

        bool lower = triangle == Triangle.Lower;
        if (typeof(T) == typeof(double))
        {
            SyrkCore(ma.As<double>(), transposed, mc.As<double>(), lower, n, k, Unsafe.As<T, double>(ref alpha), Unsafe.As<T, double>(ref beta));
        }
        else
        {
            SyrkCore(ma.As<float>(), transposed, mc.As<float>(), lower, n, k, Unsafe.As<T, float>(ref alpha), Unsafe.As<T, float>(ref beta));
        }
    }

    // ───────────────────────────── Cholesky ─────────────────────────────

    /// <summary>Cholesky factorisation in place: <c>A = L·Lᵀ</c> (lower) or <c>A = Uᵀ·U</c> (upper).</summary>
    /// <param name="a">Row-major symmetric A (<c>n × n</c>); only <paramref name="triangle"/> is read and overwritten by the factor.</param>
    /// <param name="triangle">The triangle holding A on entry and the factor on exit; the other one is untouched.</param>
    /// <returns>The status; on failure <c>info = k</c> means the leading minor of order k is not positive definite
    /// (pivot k is not a finite positive number), and the triangle holds a partial factorisation. A non-finite entry counts as a failed pivot: the finite leading
    /// block is factored and <c>info</c> is the order of the first leading minor that holds a NaN or infinity (when no
    /// earlier pivot failed).</returns>
    /// <remarks>LAPACK <c>?POTRF</c> (column-major routine with <c>uplo</c> swapped: row-major lower = column-major upper).</remarks>
    public FactorizationStatus TryCholeskyFactor<T>(Span2D<T> a, Triangle triangle)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var ma = ValidateSquare(a, nameof(a));
        ValidateTriangle(triangle, nameof(triangle));
        if (ma.IsEmpty)
        {
            return FactorizationStatus.Success("potrf");
        }

        return FactorCore(ma, triangle == Triangle.Lower);
    }

    /// <summary>?POTRF of a validated, non-empty matrix: the screen for non-finite entries, the factorisation and the
    /// pivot check shared by every backend.</summary>
    private FactorizationStatus FactorCore<T>(MatrixRef<T> ma, bool lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Non-finite entries: LAPACK implementations disagree (OpenBLAS reports success on NaN), so every backend
        // factors only the finite leading block and reports info = order + 1, as a column-by-column Cholesky would.
        int order = SymmetricStorage.FiniteLeadingOrder(ma, lower);
        if (order == 0)
        {
            return new FactorizationStatus("potrf", 1);
        }

        var leading = order == ma.Rows ? ma : new MatrixRef<T>(ref ma.Origin, order, order, ma.Stride);
        int info = typeof(T) == typeof(double)
            ? PotrfCore(leading.As<double>(), lower)
            : PotrfCore(leading.As<float>(), lower);
        if (info == 0)
        {
            // Some LAPACK builds (OpenBLAS) report success with a NaN pivot (∞·0 inside the factorisation of a finite
            // matrix that is not positive definite): the factor's diagonal decides, on every backend.
            info = TriangularFactorChecks.FirstBadPivot(leading);
        }

        if (info == 0 && order < ma.Rows)
        {
            info = order + 1;
        }

        return new FactorizationStatus("potrf", info);
    }

    /// <summary>Cholesky factorisation in place; throws when A is not positive definite.</summary>
    /// <exception cref="MatrixNotPositiveDefiniteException">A is not positive definite (carries LAPACK's <c>info</c>).</exception>
    /// <remarks>LAPACK <c>?POTRF</c>.</remarks>
    public void CholeskyFactor<T>(Span2D<T> a, Triangle triangle)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var status = TryCholeskyFactor(a, triangle);
        if (!status.Succeeded)
        {
            throw new MatrixNotPositiveDefiniteException(status, a.Height);
        }
    }

    /// <summary>Inverse of a symmetric positive-definite matrix from its Cholesky factor, written as a full symmetric matrix.</summary>
    /// <param name="factor">On entry the factor from <see cref="TryCholeskyFactor{T}"/> with the same <paramref name="triangle"/>;
    /// on exit A⁻¹ in both triangles.</param>
    /// <param name="triangle">The triangle holding the factor.</param>
    /// <returns>The status; <c>info = k</c> means the factor's diagonal element k is zero (A is singular) or the factor's
    /// leading k × k triangle holds NaN or infinity (the factor is then untouched), or that the inverse overflows (its
    /// leading k × k triangle holds an infinity, or its diagonal element k exceeds Ω / (n²·max(1, max|L|)), Ω the
    /// largest finite value, beyond which some evaluation order overflows; the matrix then holds no meaningful values).
    /// </returns>
    /// <remarks>LAPACK <c>?POTRI</c> followed by mirroring the computed triangle into the other one.</remarks>
    public FactorizationStatus TryCholeskyInverse<T>(Span2D<T> factor, Triangle triangle)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var ma = ValidateSquare(factor, nameof(factor));
        ValidateTriangle(triangle, nameof(triangle));
        if (ma.IsEmpty)
        {
            return FactorizationStatus.Success("potri");
        }

        bool lower = triangle == Triangle.Lower;

        // A zero pivot is LAPACK's singular case; a NaN or infinite one would go through LAPACK unnoticed (NaN ≠ 0),
        // and implementations disagree on what they then return: every backend reports it here, factor untouched.
        int n = ma.Rows;
        int singular = TriangularFactorChecks.FirstSingularPivot(ma);
        int finite = SymmetricStorage.FiniteLeadingOrder(ma, lower);
        int bad = Math.Min(singular == 0 ? int.MaxValue : singular, finite == n ? int.MaxValue : finite + 1);
        if (bad != int.MaxValue)
        {
            return new FactorizationStatus("potri", bad);
        }

        return InvertFromCheckedFactor(ma, lower, TriangleMagnitudes.Largest(ma, lower));
    }

    /// <summary>1 + the index of the first diagonal entry above <paramref name="bound"/>, or 0.</summary>
    private static int FirstDiagonalAbove<T>(MatrixRef<T> ma, T bound)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < ma.Rows; i++)
        {
            if (ma.At(i, i) > bound)
            {
                return i + 1;
            }
        }

        return 0;
    }

    /// <summary>?POTRI on a factor known to be finite with a nonzero diagonal, then the overflow checks and the mirror.</summary>
    /// <param name="ma">The factor; on success the inverse in both triangles.</param>
    /// <param name="lower">Whether the factor is in the lower triangle.</param>
    /// <param name="factorBound">An upper bound on the factor's entries' magnitudes (M).</param>
    private FactorizationStatus InvertFromCheckedFactor<T>(MatrixRef<T> ma, bool lower, T factorBound)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = ma.Rows;
        int info = typeof(T) == typeof(double)
            ? PotriCore(ma.As<double>(), lower)
            : PotriCore(ma.As<float>(), lower);
        if (info == 0)
        {
            // A finite factor with tiny pivots can have an inverse that overflows: that is a failure, not a result.
            int inverseFinite = SymmetricStorage.FiniteLeadingOrder(ma, lower);
            if (inverseFinite != n)
            {
                return new FactorizationStatus("potri", inverseFinite + 1);
            }

            // A⁻¹'s largest diagonal entry R bounds every intermediate of the usual ?POTRI evaluation orders: partial
            // sums of L⁻ᵀL⁻¹ by R (Cauchy–Schwarz), entries of L⁻¹ by √R, their products with the factor by n·M·√R,
            // blocked products by n²·M·R. Above Ω / (n²·max(1, M)) some evaluation order can overflow, so one backend
            // would return an inverse where another overflows: every backend reports that case as an overflow.
            int tooLarge = FirstDiagonalAbove(ma, T.CreateTruncating(typeof(T) == typeof(double) ? double.MaxValue : float.MaxValue) / (T.CreateTruncating((double)n * n) * T.Max(T.One, factorBound)));
            if (tooLarge != 0)
            {
                return new FactorizationStatus("potri", tooLarge);
            }

            if (typeof(T) == typeof(double))
            {
                SymmetricStorage.Mirror(ma.As<double>(), lower);
            }
            else
            {
                SymmetricStorage.Mirror(ma.As<float>(), lower);
            }
        }

        return new FactorizationStatus("potri", info);
    }

    /// <summary>Inverse from a Cholesky factor (full symmetric result); throws when the factor is singular.</summary>
    /// <exception cref="MatrixNotPositiveDefiniteException">The factor has a zero on its diagonal.</exception>
    /// <remarks>LAPACK <c>?POTRI</c>.</remarks>
    public void CholeskyInverse<T>(Span2D<T> factor, Triangle triangle)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var status = TryCholeskyInverse(factor, triangle);
        if (!status.Succeeded)
        {
            throw new MatrixNotPositiveDefiniteException(status, factor.Height);
        }
    }

    /// <summary>Inverts a symmetric positive-definite matrix in place (factor, then inverse; full symmetric result).</summary>
    /// <param name="a">On entry A (only <paramref name="triangle"/> is read); on success A⁻¹ in both triangles.
    /// On failure the triangle holds a partial factorisation.</param>
    /// <param name="triangle">The triangle of A that is read.</param>
    /// <remarks>LAPACK <c>?POTRF</c> + <c>?POTRI</c>.</remarks>
    public FactorizationStatus TryInvertPositiveDefinite<T>(Span2D<T> a, Triangle triangle)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var ma = ValidateSquare(a, nameof(a));
        ValidateTriangle(triangle, nameof(triangle));
        if (ma.IsEmpty)
        {
            return FactorizationStatus.Success("potri");
        }

        // Read before ?POTRF overwrites the diagonal: √max a_ii bounds every entry of the factor (below).
        T largestDiagonal = T.Zero;
        for (int i = 0; i < ma.Rows; i++)
        {
            largestDiagonal = T.Max(largestDiagonal, T.Abs(ma.At(i, i)));
        }

        bool lower = triangle == Triangle.Lower;
        var status = FactorCore(ma, lower);
        if (!status.Succeeded)
        {
            return status;
        }

        // The factor needs no second screen: its input was finite and every pivot finite and positive, and then every
        // entry of the factor is finite too (row i of L has Σ_j l_ij² = a_ii, so |l_ij| ≤ √a_ii up to rounding, and
        // √max a_ii bounds them all).
        T factorBound = T.Sqrt(largestDiagonal) * T.CreateTruncating(1.0 + 1e-6);
        return InvertFromCheckedFactor(ma, lower, factorBound);
    }

    /// <summary>Solves <c>A·X = B</c> for many right-hand sides from A's Cholesky factor; B is overwritten by X.</summary>
    /// <param name="factor">The factor from <see cref="TryCholeskyFactor{T}"/> (<c>n × n</c>); only <paramref name="triangle"/> is read.</param>
    /// <param name="triangle">The triangle holding the factor.</param>
    /// <param name="b">Row-major right-hand sides, <c>n × k</c>; overwritten by the solution. Must not overlap the factor.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">A diagonal element of the factor is zero, NaN or infinite
    /// (<c>info</c> is its 1-based index); B is untouched.</exception>
    /// <remarks>LAPACK <c>?POTRS</c> semantics, computed as two triangular solves (BLAS <c>?TRSM</c>, row-major, no copies).</remarks>
    public void CholeskySolve<T>(ReadOnlySpan2D<T> factor, Triangle triangle, Span2D<T> b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var mf = MatrixRef<T>.From(factor);
        KernelValidation.EnsureSquare(mf, nameof(factor));
        KernelValidation.EnsureStride(mf, nameof(factor));
        ValidateTriangle(triangle, nameof(triangle));
        int n = mf.IsEmpty ? 0 : mf.Rows;
        var mb = MatrixRef<T>.From(b);
        if (!mb.IsEmpty && mb.Rows != n)
        {
            throw new ArgumentException($"B must have {n} rows (the order of the factor), but it has {mb.Rows}.", nameof(b));
        }

        KernelValidation.EnsureStride(mb, nameof(b));
        KernelValidation.EnsureNoOverlap(mb, mf, nameof(b), nameof(factor));
        if (n == 0 || mb.IsEmpty)
        {
            return;
        }

        int singular = TriangularFactorChecks.FirstSingularPivot(mf);
        if (singular != 0)
        {
            throw new MatrixNotPositiveDefiniteException(new FactorizationStatus("potrs", singular), n);
        }

        bool lower = triangle == Triangle.Lower;
        if (typeof(T) == typeof(double))
        {
            PotrsCore(mf.As<double>(), lower, mb.As<double>());
        }
        else
        {
            PotrsCore(mf.As<float>(), lower, mb.As<float>());
        }
    }

    // ───────────────────────────── Symmetric eigendecomposition ─────────────────────────────

    /// <summary>Eigendecomposition of a symmetric matrix in place: <c>A = Q·diag(w)·Qᵀ</c>.</summary>
    /// <param name="a">On entry A (<c>n × n</c>; only <paramref name="triangle"/> is read). On success the whole
    /// matrix is overwritten by Q, whose <b>columns</b> are the orthonormal eigenvectors (column j belongs to
    /// <c>eigenvalues[j]</c>), as <c>torch.linalg.eigh</c> returns them.</param>
    /// <param name="triangle">The triangle of A that is read.</param>
    /// <param name="eigenvalues">Destination for the n eigenvalues, in ascending order.</param>
    /// <returns>The status; a positive <c>info</c> means the algorithm failed to converge (A's contents are then undefined),
    /// or that the triangle read holds NaN or infinity (<c>info = 1</c>, A untouched).</returns>
    /// <remarks>LAPACK <c>?SYEVD</c> (column-major with <c>uplo</c> swapped; the eigenvector rows it leaves in the
    /// row-major buffer are transposed in place). Sign rule, identical on every backend: in each eigenvector the
    /// entry of largest magnitude is positive (the lowest index wins a tie). On a matrix whose entries span most of the
    /// floating-point range, where a native library's <c>?SYEVD</c> can fail to converge, a native backend falls back to
    /// the managed eigensolver, so every backend accepts the same matrices.</remarks>
    public FactorizationStatus TrySymmetricEigen<T>(Span2D<T> a, Triangle triangle, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        KernelValidation.EnsureSupportedType<T>();
        var ma = ValidateSquare(a, nameof(a));
        ValidateTriangle(triangle, nameof(triangle));
        int n = ma.IsEmpty ? 0 : ma.Rows;
        if (eigenvalues.Length != n)
        {
            throw new ArgumentException($"The eigenvalue destination must have length {n}, but it has {eigenvalues.Length}.", nameof(eigenvalues));
        }

        KernelValidation.EnsureNoOverlap(eigenvalues, ma, nameof(eigenvalues), nameof(a));
        if (n == 0)
        {
            return FactorizationStatus.Success("syevd");
        }

        bool lower = triangle == Triangle.Lower;
        if (SymmetricStorage.FiniteLeadingOrder(ma, lower) != n)
        {
            return new FactorizationStatus("syevd", 1); // non-finite input: a failure on every backend, A untouched
        }

        // LAPACK's ?syevd can fail to converge on finite matrices whose entries span most of the floating-point range,
        // where the managed eigensolver succeeds: for such matrices a native backend keeps a copy of the input and, if
        // its library fails, the managed eigensolver decomposes the copy, so every backend accepts the same matrices.
        T[]? saved = null;
        if (FallsBackToManagedEigensolver && TriangleMagnitudes.IsWideRange(ma, lower))
        {
            saved = System.Buffers.ArrayPool<T>.Shared.Rent(n * n);
            for (int i = 0; i < n; i++)
            {
                ma.Row(i).CopyTo(saved.AsSpan(i * n, n));
            }
        }

        int info;
        try
        {
            info = Decompose(ma, lower, eigenvalues, managedFallback: false);
            if (info == 0 && !FiniteResult(ma, eigenvalues, wholeMatrix: saved is not null))
            {
                // Measured: MKL 2020.4's ssyevd reports success with NaN in its output on some wide-range float
                // matrices. A non-finite result of finite input is a failure, never a result.
                info = n;
            }

            if (info != 0 && saved is not null)
            {
                for (int i = 0; i < n; i++)
                {
                    saved.AsSpan(i * n, n).CopyTo(ma.Row(i));
                }

                info = Decompose(ma, lower, eigenvalues, managedFallback: true);
            }
        }
        finally
        {
            if (saved is not null)
            {
                System.Buffers.ArrayPool<T>.Shared.Return(saved);
            }
        }

        return new FactorizationStatus("syevd", info);
    }

    /// <summary>Whether ?SYEVD failures on wide-range matrices are retried with the managed eigensolver (every backend
    /// but the managed one, for which that would run the same code again).</summary>
    private protected virtual bool FallsBackToManagedEigensolver => true;

    /// <summary>True when the eigenvalues (and, with <paramref name="wholeMatrix"/>, the eigenvectors) are finite.</summary>
    private static bool FiniteResult<T>(MatrixRef<T> ma, ReadOnlySpan<T> eigenvalues, bool wholeMatrix)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (SymmetricStorage.IndexOfNonFinite(eigenvalues) >= 0)
        {
            return false;
        }

        if (wholeMatrix)
        {
            for (int i = 0; i < ma.Rows; i++)
            {
                if (SymmetricStorage.IndexOfNonFinite<T>(ma.Row(i)) >= 0)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>?SYEVD through this backend (or, as the fallback, the managed eigensolver), then the shared sign rule.</summary>
    private int Decompose<T>(MatrixRef<T> ma, bool lower, Span<T> eigenvalues, bool managedFallback)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            var md = ma.As<double>();
            var w = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(eigenvalues);
            int info = managedFallback ? Managed.ManagedBackend.Syevd(md, lower, w) : SyevdCore(md, lower, w);
            if (info == 0)
            {
                SymmetricStorage.NormalizeEigenvectorSigns(md);
            }

            return info;
        }
        else
        {
            var mf = ma.As<float>();
            var w = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(eigenvalues);
            int info = managedFallback ? Managed.ManagedBackend.Syevd(mf, lower, w) : SyevdCore(mf, lower, w);
            if (info == 0)
            {
                SymmetricStorage.NormalizeEigenvectorSigns(mf);
            }

            return info;
        }
    }

    /// <summary>Eigendecomposition of a symmetric matrix in place; throws when it fails to converge.</summary>
    /// <exception cref="EigenDecompositionFailedException">The eigensolver did not converge.</exception>
    /// <remarks>LAPACK <c>?SYEVD</c>; see <see cref="TrySymmetricEigen{T}"/> for the layout and sign rule.</remarks>
    public void SymmetricEigen<T>(Span2D<T> a, Triangle triangle, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var status = TrySymmetricEigen(a, triangle, eigenvalues);
        if (!status.Succeeded)
        {
            throw new EigenDecompositionFailedException(status, a.Height);
        }
    }

    // ───────────────────────────── implementation hooks ─────────────────────────────
    // Called only with validated, non-empty operands. Matrices are row-major with the given strides.

    /// <summary>C ← α·op(A)·op(B) + β·C; C is m × n (from <paramref name="c"/>), k is the inner dimension (may be 0).</summary>
    private protected abstract void GemmCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> b, bool transposeB, MatrixRef<double> c, int k, double alpha, double beta);

    /// <inheritdoc cref="GemmCore(MatrixRef{double}, bool, MatrixRef{double}, bool, MatrixRef{double}, int, double, double)"/>
    private protected abstract void GemmCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> b, bool transposeB, MatrixRef<float> c, int k, float alpha, float beta);

    /// <summary>One triangle of C (n × n) ← α·AᵀA + β·C (A is k × n, <paramref name="transposeA"/>) or α·AAᵀ + β·C (A is n × k). k may be 0.</summary>
    private protected abstract void SyrkCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> c, bool lower, int n, int k, double alpha, double beta);

    /// <inheritdoc cref="SyrkCore(MatrixRef{double}, bool, MatrixRef{double}, bool, int, int, double, double)"/>
    private protected abstract void SyrkCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> c, bool lower, int n, int k, float alpha, float beta);

    /// <summary>In-place Cholesky of the given row-major triangle; returns LAPACK's info.</summary>
    private protected abstract int PotrfCore(MatrixRef<double> a, bool lower);

    /// <inheritdoc cref="PotrfCore(MatrixRef{double}, bool)"/>
    private protected abstract int PotrfCore(MatrixRef<float> a, bool lower);

    /// <summary>In-place inverse from the factor in the given triangle (only that triangle is written); returns info.</summary>
    private protected abstract int PotriCore(MatrixRef<double> a, bool lower);

    /// <inheritdoc cref="PotriCore(MatrixRef{double}, bool)"/>
    private protected abstract int PotriCore(MatrixRef<float> a, bool lower);

    /// <summary>B (n × k) ← A⁻¹·B from the factor in the given triangle.</summary>
    private protected abstract void PotrsCore(MatrixRef<double> factor, bool lower, MatrixRef<double> b);

    /// <inheritdoc cref="PotrsCore(MatrixRef{double}, bool, MatrixRef{double})"/>
    private protected abstract void PotrsCore(MatrixRef<float> factor, bool lower, MatrixRef<float> b);

    /// <summary>Eigendecomposition reading the given triangle; on success writes ascending eigenvalues and the eigenvectors
    /// as <b>columns</b> of the row-major matrix (sign normalisation is applied afterwards by shared code); returns info.</summary>
    private protected abstract int SyevdCore(MatrixRef<double> a, bool lower, Span<double> eigenvalues);

    /// <inheritdoc cref="SyevdCore(MatrixRef{double}, bool, Span{double})"/>
    private protected abstract int SyevdCore(MatrixRef<float> a, bool lower, Span<float> eigenvalues);

    // ───────────────────────────── helpers ─────────────────────────────

    private static MatrixRef<T> ValidateSquare<T>(Span2D<T> a, string paramName)
    {
        var m = MatrixRef<T>.From(a);
        KernelValidation.EnsureSquare(m, paramName);
        KernelValidation.EnsureStride(m, paramName);
        return m;
    }

    private static bool ValidateTranspose(Transpose t, string paramName) => t switch
    {
        Transpose.None => false,
        Transpose.Transpose => true,
        _ => throw new ArgumentOutOfRangeException(paramName, t, "Unknown transpose option."),
    };

    private static void ValidateTriangle(Triangle t, string paramName)
    {
        if (t is not (Triangle.Lower or Triangle.Upper))
        {
            throw new ArgumentOutOfRangeException(paramName, t, "Unknown triangle.");
        }
    }
}
