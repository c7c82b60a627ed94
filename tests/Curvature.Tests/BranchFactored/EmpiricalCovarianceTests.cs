using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.BranchFactored;
using Xunit;

namespace Curvature.Tests.BranchFactored;

public sealed class EmpiricalCovarianceTests
{
    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    [InlineData(7, 5)]
    [InlineData(30, 9)]
    public void Compute_MatchesDenseOracle(int n, int d)
    {
        var x = DenseOracle.Random(new Random(n * 31 + d), n, d, 3.0);
        var c = EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(x));
        var expected = DenseOracle.Covariance(x);
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                Assert.Equal(expected[i, j], c[i, j], 1e-12);
                Assert.Equal(c[j, i], c[i, j]);
            }
        }
    }

    [Fact]
    public void Compute_KnownSmallCase()
    {
        // Samples (1, 2), (3, 6): mean (2, 4); centred (−1, −2), (1, 2); covariance [[2, 4], [4, 8]] / (2 − 1).
        double[,] x = { { 1, 2 }, { 3, 6 } };
        var c = EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(x));
        Assert.Equal(new double[,] { { 2, 4 }, { 4, 8 } }, c);
    }

    [Fact]
    public void Compute_IntoPaddedViews_WritesOnlyTheView()
    {
        var x = DenseOracle.Random(new Random(1), 6, 4);
        var buffer = new double[4 * 7];
        Array.Fill(buffer, double.NaN);
        var destination = new Span2D<double>(buffer, 0, 4, 4, 3);
        var scratch = new double[6, 4];
        EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(x), scratch, destination);
        var expected = DenseOracle.Covariance(x);
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(expected[i, j], destination[i, j], 1e-12);
            }

            for (int j = 4; j < 7 && i < 3; j++)
            {
                Assert.True(double.IsNaN(buffer[i * 7 + j]));
            }
        }
    }

    [Fact]
    public void Compute_BadInput_Throws()
    {
        Assert.Throws<ArgumentException>(() => EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(new double[0, 3])));
        Assert.Throws<ArgumentException>(() => EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(new[,] { { 1.0, double.NaN } })));
        Assert.Throws<ArgumentException>(() => EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(new double[3, 2]), new double[2, 2], new double[2, 2]));
        Assert.Throws<ArgumentException>(() => EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<double>(new double[3, 2]), new double[3, 2], new double[3, 3]));
    }
}
