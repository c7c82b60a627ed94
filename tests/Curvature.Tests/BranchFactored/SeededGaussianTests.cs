using Curvature.BranchFactored;
using Xunit;

namespace Curvature.Tests.BranchFactored;

public sealed class SeededGaussianTests
{
    [Fact]
    public void Xoshiro256StarStar_MatchesThePublishedSequenceForState1234()
    {
        // Reference outputs of xoshiro256** from the state {1, 2, 3, 4} (Vigna's reference C code).
        var g = new SeededGaussian(0) { State = new SeededGaussianState(1, 2, 3, 4, false, 0) };
        ulong[] expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, 607988272756665600];
        foreach (ulong e in expected)
        {
            Assert.Equal(e, g.NextUInt64());
        }
    }

    [Fact]
    public void Seeding_UsesSplitMix64()
    {
        // SplitMix64 from seed 1234567 yields 6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431.
        var s = new SeededGaussian(1234567).State;
        Assert.Equal(6457827717110365317UL, s.S0);
        Assert.Equal(3203168211198807973UL, s.S1);
        Assert.Equal(9817491932198370423UL, s.S2);
        Assert.Equal(4593380528125082431UL, s.S3);
        Assert.False(s.HasSpare);
    }

    [Fact]
    public void NextGaussian_HasStandardNormalMoments_AndIsReproducible()
    {
        var g = new SeededGaussian(2027);
        var h = new SeededGaussian(2027);
        const int n = 200_000;
        double sum = 0, sumSq = 0, sum4 = 0;
        int within1 = 0;
        for (int i = 0; i < n; i++)
        {
            double z = g.NextGaussian();
            Assert.Equal(z, h.NextGaussian());
            sum += z;
            sumSq += z * z;
            sum4 += z * z * z * z;
            if (Math.Abs(z) < 1)
            {
                within1++;
            }
        }

        double mean = sum / n, variance = sumSq / n - mean * mean;
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.InRange(sum4 / n, 2.9, 3.1);                // kurtosis 3
        Assert.InRange(within1 / (double)n, 0.6783, 0.6871); // P(|Z| < 1) = 0.6827
    }

    [Fact]
    public void State_RoundTrips_IncludingTheCachedPolarValue()
    {
        var g = new SeededGaussian(5);
        g.NextGaussian();
        var saved = g.State;
        Assert.True(saved.HasSpare);
        double a = g.NextGaussian(), b = g.NextGaussian();
        g.State = saved;
        Assert.Equal(a, g.NextGaussian());
        Assert.Equal(b, g.NextGaussian());
        Assert.Throws<ArgumentException>(() => g.State = new SeededGaussianState(0, 0, 0, 0, false, 0));
    }

    [Theory]
    [InlineData(0, 7)]
    [InlineData(1, 8)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    public void Fill_EqualsSuccessiveNextGaussianCalls(int drawnBefore, int length)
    {
        var a = new SeededGaussian(77);
        var b = new SeededGaussian(77);
        for (int i = 0; i < drawnBefore; i++)
        {
            Assert.Equal(a.NextGaussian(), b.NextGaussian());
        }

        var filled = new double[length];
        a.Fill<double>(filled, 0.5);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(b.NextGaussian() * 0.5, filled[i]);
        }

        Assert.Equal(b.NextGaussian(), a.NextGaussian());
        var f = new float[3];
        new SeededGaussian(3).Fill<float>(f);
        var c = new SeededGaussian(3);
        Assert.Equal([(float)c.NextGaussian(), (float)c.NextGaussian(), (float)c.NextGaussian()], f);
    }

    [Fact]
    public void NextDouble_IsInUnitInterval()
    {
        var g = new SeededGaussian(-3);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.InRange(g.NextDouble(), 0.0, 1.0 - 1e-17);
        }
    }
}
