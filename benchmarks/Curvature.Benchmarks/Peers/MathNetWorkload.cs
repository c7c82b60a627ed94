using System.Numerics;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Benchmarks.Preconditioners;
using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Curvature.Benchmarks.Peers;

/// <summary>
/// The same operations as the Curvature benchmarks on Math.NET Numerics 5.0's managed provider (issue #7), with the
/// same seeded data; operands are allocated once and Math.NET's in-place overloads are used where it has them.
/// </summary>
/// <remarks>Math.NET has no SYRK (a full <c>AᵀA</c> product is used), no POTRI (the Cholesky inverse is a solve against
/// the identity) and its factorisations allocate their results; <c>MemoryDiagnoser</c> shows that.</remarks>
internal sealed class MathNetWorkload<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _n;
    private readonly Matrix<T> _a, _b, _c, _spd, _identity, _inverse;
    private readonly Matrix<T> _x, _gout, _grad, _fa, _fg, _ainv, _ginv, _xtx, _tmp, _nat;

    /// <summary>Selects the managed provider with the given parallelism and builds the seeded operands.</summary>
    public MathNetWorkload(int n, int threads)
    {
        Control.UseManaged();
        Control.MaxDegreeOfParallelism = threads;
        _n = n;
        var build = Matrix<T>.Build;
        int batch = IKfacStep.BatchSize;
        _a = build.Dense(n, n, SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 1)));
        _b = build.Dense(n, n, SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 2)));
        _c = build.Dense(n, n);
        _spd = build.Dense(n, n, SeededData.SymmetricPositiveDefinite<T>(n, SeededData.SeedFor(n, 3)));
        _identity = build.DenseIdentity(n);
        _inverse = build.Dense(n, n);

        // Math.NET storage is column-major: a batch × n row-major buffer is an n × batch column-major matrix, i.e. Xᵀ.
        var xt = build.Dense(n, batch, SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 10)));
        var gt = build.Dense(n, batch, SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 11)));
        _x = xt.Transpose();
        _gout = gt.Transpose();
        _grad = build.Dense(n, n, SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 12)));
        _fa = _x.TransposeThisAndMultiply(_x) / T.CreateChecked(batch);
        _fg = _gout.TransposeThisAndMultiply(_gout) / T.CreateChecked(batch);
        _ainv = build.Dense(n, n);
        _ginv = build.Dense(n, n);
        _xtx = build.Dense(n, n);
        _tmp = build.Dense(n, n);
        _nat = build.Dense(n, n);
    }

    /// <summary>The result of the last <see cref="KfacStep"/>, row-major (for the verification).</summary>
    /// <remarks>Math.NET stores column-major, so the same seeded buffer gives it ∇Wᵀ: the step computes <c>G⁻¹∇WᵀA⁻¹</c>,
    /// which costs exactly the same.</remarks>
    internal double[] NaturalGradientRowMajor() =>
        [.. _nat.ToRowMajorArray().Select(v => double.CreateChecked(v))];

    /// <summary>C = A·B.</summary>
    public void Gemm() => _a.Multiply(_b, _c);

    /// <summary>C = AᵀA (full product: Math.NET has no SYRK).</summary>
    public void Syrk() => _a.TransposeThisAndMultiply(_a, _c);

    /// <summary>Cholesky factor, then the inverse as a solve against the identity.</summary>
    public void CholeskyInverse() => _spd.Cholesky().Solve(_identity, _inverse);

    /// <summary>Symmetric eigendecomposition (eigenvalues and eigenvectors).</summary>
    public Evd<T> SymmetricEigen() => _spd.Evd(Symmetricity.Symmetric);

    /// <summary>The K-FAC step of <see cref="IKfacStep"/> with Math.NET operations.</summary>
    public void KfacStep()
    {
        int n = _n;
        T alpha = T.CreateChecked((1 - IKfacStep.EmaDecay) / IKfacStep.BatchSize);
        T decay = T.CreateChecked(IKfacStep.EmaDecay);
        UpdateFactor(_fa, _x, alpha, decay);
        UpdateFactor(_fg, _gout, alpha, decay);

        double pi = Math.Sqrt(double.CreateChecked(_fa.Trace()) / double.CreateChecked(_fg.Trace()));
        double root = Math.Sqrt(IKfacStep.Damping);
        DampedInverse(_fa, _ainv, n, pi * root);
        DampedInverse(_fg, _ginv, n, root / pi);

        _ginv.Multiply(_grad, _tmp);
        _tmp.Multiply(_ainv, _nat);
    }

    private void UpdateFactor(Matrix<T> factor, Matrix<T> batch, T alpha, T decay)
    {
        batch.TransposeThisAndMultiply(batch, _xtx);
        factor.Multiply(decay, factor);
        _xtx.Multiply(alpha, _xtx);
        factor.Add(_xtx, factor);
    }

    private void DampedInverse(Matrix<T> factor, Matrix<T> inverse, int n, double shift)
    {
        factor.CopyTo(_tmp);
        T s = T.CreateChecked(shift);
        for (int i = 0; i < n; i++)
        {
            _tmp[i, i] += s;
        }

        _tmp.Cholesky().Solve(_identity, inverse);
    }
}
