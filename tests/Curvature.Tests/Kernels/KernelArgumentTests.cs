using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>Argument errors raise the same exception types on every backend (validation is shared, before dispatch).</summary>
public class KernelArgumentTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Gemm_WrongShapes_OverlapAndBadEnums(string backend)
    {
        var b = TestBackends.Get(backend);
        var a = new double[3, 4];
        var x = new double[5, 2];
        var c = new double[3, 2];
        Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(a, Transpose.None, x, Transpose.None, c, 1, 0));
        Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(new double[4, 3], Transpose.None, new double[3, 2], Transpose.None, c, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.MatrixMultiply<double>(a, (Transpose)7, new double[4, 2], Transpose.None, c, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.MatrixMultiply<double>(a, Transpose.None, new double[4, 2], (Transpose)(-1), c, 1, 0));

        // C overlapping A (C is a view into A's buffer).
        var buffer = new double[16];
        Assert.Throws<ArgumentException>(() => b.MatrixMultiply<double>(
            new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(buffer, 0, 2, 2, 0), Transpose.None,
            new double[2, 2], Transpose.None,
            new CommunityToolkit.HighPerformance.Span2D<double>(buffer, 2, 2, 2, 0), 1, 0));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Syrk_Cholesky_Eigen_ArgumentErrors(string backend)
    {
        var b = TestBackends.Get(backend);
        Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<double>(new double[4, 3], RankKForm.TransposeTimesMatrix, new double[4, 4], Triangle.Lower, 1, 0));
        Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<float>(new float[4, 3], RankKForm.MatrixTimesTranspose, new float[4, 3], Triangle.Lower, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.SymmetricRankKUpdate<double>(new double[4, 3], (RankKForm)5, new double[3, 3], Triangle.Lower, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.SymmetricRankKUpdate<double>(new double[4, 3], RankKForm.TransposeTimesMatrix, new double[3, 3], (Triangle)2, 1, 0));
        var shared = new double[25];
        Assert.Throws<ArgumentException>(() => b.SymmetricRankKUpdate<double>(
            new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(shared, 0, 3, 3, 0), RankKForm.TransposeTimesMatrix,
            new CommunityToolkit.HighPerformance.Span2D<double>(shared, 4, 3, 3, 0), Triangle.Lower, 1, 0));

        Assert.Throws<ArgumentException>(() => b.TryCholeskyFactor<double>(new double[3, 4], Triangle.Lower));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.TryCholeskyFactor<double>(new double[3, 3], (Triangle)9));
        Assert.Throws<ArgumentException>(() => b.TryCholeskyInverse<float>(new float[2, 3], Triangle.Upper));
        Assert.Throws<ArgumentException>(() => b.CholeskySolve<double>(new double[3, 3], Triangle.Lower, new double[4, 2]));
        var factorBuffer = new double[20];
        Assert.Throws<ArgumentException>(() => b.CholeskySolve<double>(
            new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(factorBuffer, 0, 3, 3, 0), Triangle.Lower,
            new CommunityToolkit.HighPerformance.Span2D<double>(factorBuffer, 6, 3, 2, 0)));

        Assert.Throws<ArgumentException>(() => b.TrySymmetricEigen<double>(new double[3, 3], Triangle.Lower, new double[2]));
        Assert.Throws<ArgumentException>(() => b.TrySymmetricEigen<double>(new double[3, 2], Triangle.Lower, new double[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.TrySymmetricEigen<double>(new double[3, 3], (Triangle)3, new double[3]));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void EmptyOperands_AreNoOps(string backend)
    {
        var b = TestBackends.Get(backend);
        b.MatrixMultiply<double>(new double[0, 3], Transpose.None, new double[3, 0], Transpose.None, new double[0, 0], 1, 0);
        Assert.True(b.TryCholeskyFactor<float>(new float[0, 0], Triangle.Lower).Succeeded);
        Assert.True(b.TryCholeskyInverse<double>(new double[0, 0], Triangle.Upper).Succeeded);
        Assert.True(b.TrySymmetricEigen<double>(new double[0, 0], Triangle.Upper, Span<double>.Empty).Succeeded);

        // k = 0: C ← β·C.
        var c = new double[,] { { 1, 2 }, { 3, 4 } };
        b.MatrixMultiply<double>(new double[2, 0], Transpose.None, new double[0, 2], Transpose.None, c, 1, 2);
        Assert.Equal(new double[,] { { 2, 4 }, { 6, 8 } }, c);
    }
}
