using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Internals;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// The tuned managed kernels agree with the slow, independent <c>ReferenceKernels</c> (unblocked triple loops,
/// Jacobi eigensolver) on shapes that cross the block sizes of the tuned code.
/// </summary>
public class ReferenceKernelAgreementTests
{
    [Theory]
    [InlineData(70, Triangle.Lower)]
    [InlineData(131, Triangle.Upper)]
    public void TunedManagedKernels_MatchReferenceKernels(int n, Triangle tri)
    {
        var backend = new ManagedBackend();
        var rng = new Random(n);
        bool lower = tri == Triangle.Lower;

        // GEMM (Aᵀ·B with β ≠ 0).
        var a = new PaddedMatrix<double>(n + 3, n, 1).FillRandom(rng);
        var b = new PaddedMatrix<double>(n + 3, n - 5, 2).FillRandom(rng);
        var c1 = new PaddedMatrix<double>(n, n - 5, 0).FillRandom(rng);
        var c2 = new PaddedMatrix<double>(n, n - 5, 0);
        Array.Copy(c1.Data, c2.Data, c1.Data.Length);
        backend.MatrixMultiply(a.ReadOnly, Transpose.Transpose, b.ReadOnly, Transpose.None, c1.Span, 0.75, -0.5);
        ReferenceKernels.Gemm(MatrixRef<double>.From(a.ReadOnly), true, MatrixRef<double>.From(b.ReadOnly), false, MatrixRef<double>.From(c2.Span), n + 3, 0.75, -0.5);
        Assert.True(DenseOracle.MaxAbsDiff(c1.ToDouble(), c2.ToDouble()) < 1e-12);

        // SYRK, then POTRF / POTRS / POTRI on the SPD result AᵀA/n + I.
        var s1 = new PaddedMatrix<double>(n, n, 1);
        var s2 = new PaddedMatrix<double>(n, n, 1);
        backend.SymmetricRankKUpdate(a.ReadOnly, RankKForm.TransposeTimesMatrix, s1.Span, tri, 1.0 / n, 0.0);
        ReferenceKernels.Syrk(MatrixRef<double>.From(a.ReadOnly), true, MatrixRef<double>.From(s2.Span), lower, n, n + 3, 1.0 / n, 0.0);
        for (int i = 0; i < n; i++)
        {
            s1[i, i] += 1;
            s2[i, i] += 1;
        }

        AssertTriangleClose(s1, s2, lower, 1e-13);
        var spd = s1.ToDouble();

        Assert.Equal(0, backend.TryCholeskyFactor(s1.Span, tri).Info);
        Assert.Equal(0, ReferenceKernels.Potrf(MatrixRef<double>.From(s2.Span), lower));
        AssertTriangleClose(s1, s2, lower, 1e-12);

        var r1 = new PaddedMatrix<double>(n, 4, 0).FillRandom(rng);
        var r2 = new PaddedMatrix<double>(n, 4, 0);
        Array.Copy(r1.Data, r2.Data, r1.Data.Length);
        backend.CholeskySolve(s1.ReadOnly, tri, r1.Span);
        ReferenceKernels.Potrs(MatrixRef<double>.From(s2.Span), lower, MatrixRef<double>.From(r2.Span));
        Assert.True(DenseOracle.MaxAbsDiff(r1.ToDouble(), r2.ToDouble()) < 1e-11);

        Assert.Equal(0, backend.TryCholeskyInverse(s1.Span, tri).Info);
        Assert.Equal(0, ReferenceKernels.Potri(MatrixRef<double>.From(s2.Span), lower));
        AssertTriangleClose(s1, s2, lower, 1e-11);

        // Eigenvalues against the reference Jacobi solver.
        var e1 = new PaddedMatrix<double>(n, n, 0).Set(spd);
        var e2 = new PaddedMatrix<double>(n, n, 0).Set(spd);
        var w1 = new double[n];
        var w2 = new double[n];
        Assert.True(backend.TrySymmetricEigen(e1.Span, tri, w1.AsSpan()).Succeeded);
        Assert.Equal(0, ReferenceKernels.Syevd(MatrixRef<double>.From(e2.Span), lower, w2.AsSpan()));
        for (int j = 0; j < n; j++)
        {
            Assert.True(Math.Abs(w1[j] - w2[j]) < 1e-12 * n, $"λ[{j}]: {w1[j]} vs {w2[j]}");
        }
    }

    private static void AssertTriangleClose(PaddedMatrix<double> x, PaddedMatrix<double> y, bool lower, double tol)
    {
        for (int i = 0; i < x.Rows; i++)
        {
            for (int j = 0; j < x.Cols; j++)
            {
                if (lower ? j <= i : j >= i)
                {
                    Assert.True(Math.Abs(x[i, j] - y[i, j]) <= tol * Math.Max(1, Math.Abs(y[i, j])), $"({i},{j}): {x[i, j]} vs {y[i, j]}");
                }
            }
        }
    }
}
