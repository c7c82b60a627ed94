using System.Numerics;
using Curvature.Internals;

namespace Curvature.Backends.Managed;

/// <summary>
/// The pure-managed backend: no native code, identical semantics to the native MKL/OpenBLAS backend
/// (same triangle written, same <c>info</c> on failure, same eigenvalue order and eigenvector sign rule).
/// </summary>
/// <remarks>Thread-safe: it holds no mutable state apart from the thread count.</remarks>
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
        $"managed backend (pure C#, {(System.Runtime.Intrinsics.X86.Fma.IsSupported && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2+FMA" : "scalar")}), threads = {_threads}";

    private protected override void GemmCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> b, bool transposeB, MatrixRef<double> c, int k, double alpha, double beta) =>
        ReferenceKernels.Gemm(a, transposeA, b, transposeB, c, k, alpha, beta);

    private protected override void GemmCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> b, bool transposeB, MatrixRef<float> c, int k, float alpha, float beta) =>
        ReferenceKernels.Gemm(a, transposeA, b, transposeB, c, k, alpha, beta);

    private protected override void SyrkCore(MatrixRef<double> a, bool transposeA, MatrixRef<double> c, bool lower, int n, int k, double alpha, double beta) =>
        ReferenceKernels.Syrk(a, transposeA, c, lower, n, k, alpha, beta);

    private protected override void SyrkCore(MatrixRef<float> a, bool transposeA, MatrixRef<float> c, bool lower, int n, int k, float alpha, float beta) =>
        ReferenceKernels.Syrk(a, transposeA, c, lower, n, k, alpha, beta);

    private protected override int PotrfCore(MatrixRef<double> a, bool lower) => ReferenceKernels.Potrf(a, lower);

    private protected override int PotrfCore(MatrixRef<float> a, bool lower) => ReferenceKernels.Potrf(a, lower);

    private protected override int PotriCore(MatrixRef<double> a, bool lower) => ReferenceKernels.Potri(a, lower);

    private protected override int PotriCore(MatrixRef<float> a, bool lower) => ReferenceKernels.Potri(a, lower);

    private protected override void PotrsCore(MatrixRef<double> factor, bool lower, MatrixRef<double> b) => ReferenceKernels.Potrs(factor, lower, b);

    private protected override void PotrsCore(MatrixRef<float> factor, bool lower, MatrixRef<float> b) => ReferenceKernels.Potrs(factor, lower, b);

    private protected override int SyevdCore(MatrixRef<double> a, bool lower, Span<double> eigenvalues) => ReferenceKernels.Syevd(a, lower, eigenvalues);

    private protected override int SyevdCore(MatrixRef<float> a, bool lower, Span<float> eigenvalues) => ReferenceKernels.Syevd(a, lower, eigenvalues);
}
