using Curvature.BranchFactored;
using Xunit;

namespace Curvature.Tests.BranchFactored;

public sealed class BlockPartitionTests
{
    [Theory]
    [InlineData(10, 4, new[] { 3, 3, 2, 2 })]
    [InlineData(13, 4, new[] { 4, 3, 3, 3 })]
    [InlineData(8, 4, new[] { 2, 2, 2, 2 })]
    [InlineData(3, 4, new[] { 1, 1, 1 })]       // at most D blocks
    [InlineData(5, 1, new[] { 5 })]
    [InlineData(7, 0, new[] { 7 })]             // the seed's max(1, ·)
    [InlineData(0, 4, new[] { 0 })]
    public void Sizes_FollowTheSeedsRule(int d, int blocks, int[] expected)
    {
        Assert.Equal(expected, BlockPartition.Sizes(d, blocks));
    }

    [Fact]
    public void Sizes_AreAsEqualAsPossible_FirstOnesLarger_AndStartsAreCumulative()
    {
        for (int d = 1; d <= 40; d++)
        {
            for (int blocks = 1; blocks <= 12; blocks++)
            {
                var sizes = BlockPartition.Sizes(d, blocks);
                Assert.Equal(Math.Min(blocks, d), sizes.Length);
                Assert.Equal(d, sizes.Sum());
                Assert.True(sizes.Max() - sizes.Min() <= 1);
                for (int b = 1; b < sizes.Length; b++)
                {
                    Assert.True(sizes[b] <= sizes[b - 1]);
                }

                int start = 0;
                for (int b = 0; b < sizes.Length; b++)
                {
                    Assert.Equal(start, BlockPartition.StartOf(d, sizes.Length, b));
                    start += sizes[b];
                }
            }
        }
    }
}
