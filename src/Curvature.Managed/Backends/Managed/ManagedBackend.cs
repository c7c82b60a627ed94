using System.Numerics;
using System.Runtime.CompilerServices;
using Curvature.Backends.Managed.Internals;
using Curvature.Internals;

namespace Curvature.Backends.Managed;

/// <summary>
/// The pure-managed backend: no native code, identical semantics to the native MKL/OpenBLAS backend
/// (same triangle written, same <c>info</c> on failure, same eigenvalue order and eigenvector sign rule).
/// </summary>
/// <remarks>
/// <para>GEMM and SYRK run a packed, register-blocked FMA kernel in the Goto/BLIS structure at the widest vector width
/// the CPU accelerates, chosen at run time: AVX-512 (<c>Vector512</c>), AVX2 (<c>Vector256</c>), or 128-bit vectors
/// (SSE, ARM64 NEON), scalar code otherwise; Cholesky factor, inverse and solve are blocked on top of it; the
/// eigensolver is blocked Householder tridiagonalisation + divide and conquer (LAPACK <c>?syevd</c>'s method).
/// Under NativeAOT the width is fixed when the program is compiled: set <c>&lt;IlcInstructionSet&gt;</c> (for example
/// <c>x86-64-v3</c> for AVX2 or <c>native</c> for the build machine's CPU) to get more than the 128-bit kernels. Per-thread scratch is grown once and reused, so
/// steady-state calls allocate nothing.</para>
/// <para>Thread-safe: it holds no mutable state apart from the thread count. With
/// <see cref="SetThreadCount"/> &gt; 1, large GEMM/SYRK-shaped work (including the updates inside Cholesky) is
/// split over that many threads with <see cref="Parallel"/>.</para>
/// </remarks>
public sealed class ManagedBackend : CurvatureBackend
{
    private int _threads = 1;

    /// <summary>A shared instance (sequential by default).</summary>
    public static ManagedBackend Shared { get; } = new();

    /// <inheritdoc />
    public override string Name => "managed";

    /// <inheritdoc />
    public override BackendKind Kind => BackendKind.Managed;

    /// <inheritdoc />
    public override int ThreadCount => _threads;

    /// <inheritdoc />
    public override void SetThreadCount(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _threads = threads;
    }

    /// <inheritdoc />
    public override string Describe() =>
        $"managed backend (pure C#, {VectorWidth.Description}), threads = {_threads}";

    private protected override void GemmCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> b, bool transposeB, MatrixRef<double> c, int k, double alpha, double beta) =>
        Gemm(a, transposeA, b, transposeB, c, k, alpha, beta);

    private protected override void GemmCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> b, bool transposeB, MatrixRef<float> c, int k, float alpha, float beta) =>
        Gemm(a, transposeA, b, transposeB, c, k, alpha, beta);

    private protected override void SyrkCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> c, bool lower, int n, int k, double alpha, double beta) =>
        Syrk(a, transposeA, c, lower, n, k, alpha, beta);

    private protected override void SyrkCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> c, bool lower, int n, int k, float alpha, float beta) =>
        Syrk(a, transposeA, c, lower, n, k, alpha, beta);

    private protected override int PotrfCore(MatrixRef<double> a, bool lower) => Potrf(a, lower);

    private protected override int PotrfCore(MatrixRef<float> a, bool lower) => Potrf(a, lower);

    private protected override int PotriCore(MatrixRef<double> a, bool lower) => Potri(a, lower);

    private protected override int PotriCore(MatrixRef<float> a, bool lower) => Potri(a, lower);

    private protected override void PotrsCore(MatrixRef<double> factor, bool lower, MatrixRef<double> b) => Potrs(factor, lower, b);

    private protected override void PotrsCore(MatrixRef<float> factor, bool lower, MatrixRef<float> b) => Potrs(factor, lower, b);

    private protected override bool FallsBackToManagedEigensolver => false;

    private protected override int SyevdCore(MatrixRef<double> a, bool lower, Span<double> eigenvalues) => Syevd(a, lower, eigenvalues);

    private protected override int SyevdCore(MatrixRef<float> a, bool lower, Span<float> eigenvalues) => Syevd(a, lower, eigenvalues);

    // The view of the lower factor L: the triangle itself (lower) or the transpose of the stored U = Lᵀ (upper).
    private static unsafe StridedMatrix<T> LowerView<T>(T* p, MatrixRef<T> m, bool lower)
        where T : unmanaged
    {
        var view = StridedMatrix<T>.RowMajor(p, m.Rows, m.Cols, m.Stride);
        return lower ? view : view.Transposed;
    }

    private unsafe void Gemm<T>(MatrixRef<T> a, bool ta, MatrixRef<T> b, bool tb, MatrixRef<T> c, int k, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = c.Rows, n = c.Cols;
        fixed (T* pa = &Unsafe.AsRef(in a.Origin))
        fixed (T* pb = &Unsafe.AsRef(in b.Origin))
        fixed (T* pc = &Unsafe.AsRef(in c.Origin))
        {
            var va = ta ? StridedMatrix<T>.RowMajor(pa, k, m, a.Stride).Transposed : StridedMatrix<T>.RowMajor(pa, m, k, a.Stride);
            var vb = tb ? StridedMatrix<T>.RowMajor(pb, n, k, b.Stride).Transposed : StridedMatrix<T>.RowMajor(pb, k, n, b.Stride);
            var vc = StridedMatrix<T>.RowMajor(pc, m, n, c.Stride);
            PackedGemm.Multiply(va, vb, vc, alpha, beta, CFill.Full, false, _threads);
        }
    }

    private unsafe void Syrk<T>(MatrixRef<T> a, bool ta, MatrixRef<T> c, bool lower, int n, int k, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* pa = &Unsafe.AsRef(in a.Origin))
        fixed (T* pc = &Unsafe.AsRef(in c.Origin))
        {
            // op(A) is n × k: Aᵀ for the AᵀA form (A is k × n), A itself for AAᵀ.
            var left = ta ? StridedMatrix<T>.RowMajor(pa, k, n, a.Stride).Transposed : StridedMatrix<T>.RowMajor(pa, n, k, a.Stride);
            var vc = StridedMatrix<T>.RowMajor(pc, n, n, c.Stride);
            PackedGemm.Multiply(left, left.Transposed, vc, alpha, beta, lower ? CFill.Lower : CFill.Upper, false, _threads);
        }
    }

    private unsafe int Potrf<T>(MatrixRef<T> a, bool lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* p = &Unsafe.AsRef(in a.Origin))
        {
            return CholeskyKernels.Factor(LowerView(p, a, lower), _threads);
        }
    }

    private unsafe int Potri<T>(MatrixRef<T> a, bool lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* p = &Unsafe.AsRef(in a.Origin))
        {
            return CholeskyKernels.Inverse(LowerView(p, a, lower), _threads);
        }
    }

    private unsafe void Potrs<T>(MatrixRef<T> factor, bool lower, MatrixRef<T> b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* pf = &Unsafe.AsRef(in factor.Origin))
        fixed (T* pb = &Unsafe.AsRef(in b.Origin))
        {
            CholeskyKernels.Solve(LowerView(pf, factor, lower), StridedMatrix<T>.RowMajor(pb, b.Rows, b.Cols, b.Stride), _threads);
        }
    }

    internal static unsafe int Syevd<T>(MatrixRef<T> a, bool lower, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* p = &Unsafe.AsRef(in a.Origin))
        {
            return SymmetricEigenKernels.Decompose(StridedMatrix<T>.RowMajor(p, a.Rows, a.Cols, a.Stride), lower, eigenvalues);
        }
    }
}
