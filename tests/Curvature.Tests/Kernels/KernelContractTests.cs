using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// The kernel contract on every backend for inputs where LAPACK/BLAS implementations disagree: a finite matrix whose
/// factorisation meets ∞·0, NaN/∞ scales, empty operands of the wrong shape, zero or NaN pivots, and which operand a
/// shape error names.
/// </summary>
public class KernelContractTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void CholeskyFactor_FiniteMatrixWithOverflowingFactor_FailsAtTheSamePivotEverywhere(string backend)
    {
        var b = TestBackends.Get(backend);

        // l31 = 1e200 / 1e-150 overflows; pivot 3 is sqrt(1 − ∞) (managed, MKL) or NaN (OpenBLAS without the check).
        var lower = new double[,] { { 1e-300, 0, 0 }, { 0, 1, 0 }, { 1e200, 0, 1 } };
        var status = b.TryCholeskyFactor<double>(lower, Triangle.Lower);
        Assert.False(status.Succeeded);
        Assert.Equal(3, status.Info);

        var upper = new double[,] { { 1e-300, 0, 1e200 }, { 0, 1, 0 }, { 0, 0, 1 } };
        Assert.Equal(3, b.TryCholeskyFactor<double>(upper, Triangle.Upper).Info);

        var single = new float[,] { { 1e-30f, 0, 0 }, { 0, 1, 0 }, { 1e30f, 0, 1 } };
        Assert.Equal(3, b.TryCholeskyFactor<float>(single, Triangle.Lower).Info);
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => b.CholeskyFactor<double>(new double[,] { { 1e-300, 0, 0 }, { 0, 1, 0 }, { 1e200, 0, 1 } }, Triangle.Lower));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Syrk_EmptyAOfTheWrongShape_IsRejected(string backend)
    {
        var b = TestBackends.Get(backend);
        var c = new double[5, 5];
        var e1 = Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<double>(new double[0, 6], RankKForm.TransposeTimesMatrix, c, Triangle.Lower, 1, 0));
        Assert.Equal("a", e1.ParamName);
        var e2 = Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<double>(new double[6, 0], RankKForm.MatrixTimesTranspose, c, Triangle.Lower, 1, 0));
        Assert.Equal("a", e2.ParamName);

        // The right empty shapes are still a pure β-scaling.
        c[1, 0] = 3;
        b.SymmetricRankKUpdate<double>(new double[0, 5], RankKForm.TransposeTimesMatrix, c, Triangle.Lower, 1, 2);
        b.SymmetricRankKUpdate<double>(new double[5, 0], RankKForm.MatrixTimesTranspose, c, Triangle.Lower, 1, 2);
        Assert.Equal(12, c[1, 0]);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void NonFiniteScales_AreRejected_AndNothingIsWritten(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var c = new double[,] { { 1, 2 }, { 3, 4 } };
            var before = (double[,])c.Clone();
            Assert.Equal("alpha", Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[2, 2], Transpose.None, new double[2, 2], Transpose.None, c, bad, 0)).ParamName);
            Assert.Equal("beta", Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[2, 2], Transpose.None, new double[2, 2], Transpose.None, c, 1, bad)).ParamName);
            Assert.Equal("alpha", Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<double>(new double[3, 2], RankKForm.TransposeTimesMatrix, c, Triangle.Lower, bad, 1)).ParamName);
            Assert.Equal("beta", Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<double>(new double[3, 2], RankKForm.TransposeTimesMatrix, c, Triangle.Lower, 1, bad)).ParamName);
            Assert.Equal(before, c);
        }

        var cf = new float[2, 2];
        Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<float>(new float[3, 2], RankKForm.TransposeTimesMatrix, cf, Triangle.Upper, 1, float.NaN));
        Assert.Throws<ArgumentException>(() => b.MatrixMultiply<float>(new float[2, 2], Transpose.Transpose, new float[2, 2], Transpose.None, cf, float.PositiveInfinity, 0));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void CholeskyInverse_ZeroOrNonFinitePivot_FailsWithTheFactorUntouched(string backend)
    {
        var b = TestBackends.Get(backend);
        var zero = new double[,] { { 2, 0, 0 }, { 1, 0, 0 }, { 1, 1, 3 } };
        var before = (double[,])zero.Clone();
        var status = b.TryCholeskyInverse<double>(zero, Triangle.Lower);
        Assert.Equal(2, status.Info);
        Assert.Equal(before, zero);

        var nan = new double[,] { { 2, 0 }, { 1, double.NaN } };
        Assert.Equal(2, b.TryCholeskyInverse<double>(nan, Triangle.Lower).Info);
        var single = new float[,] { { float.NaN } };
        Assert.Equal(1, b.TryCholeskyInverse<float>(single, Triangle.Upper).Info);
        Assert.True(float.IsNaN(single[0, 0]));
        var offDiagonal = new double[,] { { 2, double.PositiveInfinity }, { 0, 1 } };
        Assert.Equal(2, b.TryCholeskyInverse<double>(offDiagonal, Triangle.Upper).Info);
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => b.CholeskyInverse<double>(new double[,] { { 0 } }, Triangle.Lower));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void CholeskyInverse_OverflowingInverse_IsAFailure(string backend)
    {
        var b = TestBackends.Get(backend);
        var factor = new double[,] { { 1e-200, 0 }, { 0, 1 } }; // A⁻¹ = diag(1e400, 1): overflows
        Assert.False(b.TryCholeskyInverse<double>(factor, Triangle.Lower).Succeeded);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void CholeskySolve_ZeroOrNonFinitePivot_Throws_AndLeavesBUntouched(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (double pivot in new[] { 0.0, double.NaN, double.PositiveInfinity })
        {
            var factor = new double[,] { { 2, 0 }, { 1, pivot } };
            var rhs = new double[,] { { 1, 2 }, { 3, 4 } };
            var e = Assert.Throws<MatrixNotPositiveDefiniteException>(() => b.CholeskySolve<double>(factor, Triangle.Lower, rhs));
            Assert.Equal(2, e.Info);
            Assert.Equal(new double[,] { { 1, 2 }, { 3, 4 } }, rhs);
        }

        var single = new float[,] { { 0 } };
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => b.CholeskySolve<float>(single, Triangle.Upper, new float[1, 3]));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Gemm_ShapeErrors_NameTheOperandThatDoesNotFit(string backend)
    {
        var b = TestBackends.Get(backend);

        // A (4 × 3) and B (3 × 2) fit each other: C (3 × 2) is the wrong one.
        var e = Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[4, 3], Transpose.None, new double[3, 2], Transpose.None, new double[3, 2], 1, 0));
        Assert.Equal("c", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[3, 4], Transpose.Transpose, new double[2, 3], Transpose.Transpose, new double[4, 3], 1, 0));
        Assert.Equal("c", e.ParamName);

        // Inner dimensions differ: B is named.
        e = Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[3, 4], Transpose.None, new double[5, 2], Transpose.None, new double[3, 2], 1, 0));
        Assert.Equal("b", e.ParamName);

        // An empty A where C and B need a non-empty one: A is named.
        e = Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[3, 0], Transpose.None, new double[4, 2], Transpose.None, new double[3, 2], 1, 0));
        Assert.Equal("b", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(default(ReadOnlySpan2D<double>), Transpose.None, new double[4, 2], Transpose.None, new double[3, 2], 1, 0));
        Assert.Equal("a", e.ParamName);

        // Empty but consistent shapes remain fine (k = 0 scales C).
        var c = new double[,] { { 1, 1 }, { 1, 1 }, { 1, 1 } };
        b.MatrixMultiply<double>(new double[3, 0], Transpose.None, new double[0, 2], Transpose.None, c, 1, 3);
        b.MatrixMultiply<double>(default(ReadOnlySpan2D<double>), Transpose.None, default(ReadOnlySpan2D<double>), Transpose.None, new double[0, 0], 1, 0);
        Assert.Equal(3, c[2, 1]);
    }
}
