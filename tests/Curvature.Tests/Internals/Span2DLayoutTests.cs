using CommunityToolkit.HighPerformance;
using Curvature.Internals;
using Xunit;

namespace Curvature.Tests.Internals;

public class Span2DLayoutTests
{
    [Theory]
    [InlineData(3, 4, 0)]
    [InlineData(3, 4, 1)]
    [InlineData(5, 2, 7)]
    public void Stride_PitchedView_IsWidthPlusPitch(int height, int width, int pitch)
    {
        var buffer = new double[(height * (width + pitch)) + 3];
        var span = new Span2D<double>(buffer, 1, height, width, pitch);
        Assert.Equal(width + pitch, Span2DLayout.Stride(span));
    }

    [Fact]
    public void Stride_SingleRow_IsWidth()
    {
        var span = new Span2D<double>(new double[10], 0, 1, 6, 4);
        Assert.Equal(6, Span2DLayout.Stride(span));
    }
}
