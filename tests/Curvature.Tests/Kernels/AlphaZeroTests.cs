using Curvature.Backends;
using Curvature.Tests.TestKit;
using CommunityToolkit.HighPerformance;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>BLAS semantics shared by every backend: with α = 0 the operands A and B are not read.</summary>
public class AlphaZeroTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Gemm_AlphaZero_IgnoresNaNOperands(string backend)
    {
        var b = TestBackends.Get(backend);
        var a = new double[12];
        Array.Fill(a, double.NaN);
        var c = new double[9];
        for (int i = 0; i < c.Length; i++)
        {
            c[i] = i + 1;
        }

        b.MatrixMultiply<double>(new ReadOnlySpan2D<double>(a, 3, 4), Transpose.None, new ReadOnlySpan2D<double>(a, 4, 3), Transpose.None, new Span2D<double>(c, 3, 3), 0.0, 2.0);
        for (int i = 0; i < c.Length; i++)
        {
            Assert.Equal(2.0 * (i + 1), c[i]);
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Syrk_AlphaZero_IgnoresNaNOperand(string backend)
    {
        var b = TestBackends.Get(backend);
        var a = new float[8];
        Array.Fill(a, float.NaN);
        var c = new float[] { 1, -7, 2, 3 };
        b.SymmetricRankKUpdate<float>(new ReadOnlySpan2D<float>(a, 4, 2), RankKForm.TransposeTimesMatrix, new Span2D<float>(c, 2, 2), Triangle.Lower, 0f, 0.5f);
        Assert.Equal(new float[] { 0.5f, -7, 1, 1.5f }, c);
    }
}
