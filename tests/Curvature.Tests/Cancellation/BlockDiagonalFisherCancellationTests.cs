using Curvature.BlockFisher;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Cancellation;

/// <summary>Block-diagonal Fisher updates: a cancelled update changes nothing.</summary>
public sealed class BlockDiagonalFisherCancellationTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void CancelledUpdates_LeaveTheStateUnchanged(string backendName)
    {
        var fisher = new BlockDiagonalFisher<double>(TestBackends.Get(backendName), 10, new BlockFisherOptions { BlockSize = 3, MaxBlocks = 3 });
        double[] g = [1, -2, 0.5, 3, 1, -1, 2, 0.25, -0.5, 1.5];
        fisher.Update(g, TestContext.Current.CancellationToken);
        byte[] before = Save(fisher);
        var cancelled = new CancellationToken(canceled: true);

        Assert.Throws<OperationCanceledException>(() => fisher.Update([.. g.Select(v => v * 2)], cancelled));
        var rows = new double[2, 10] { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, { 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 } };
        Assert.Throws<OperationCanceledException>(() => fisher.UpdatePerExample(rows, cancelled));

        Assert.Equal(before, Save(fisher));
        Assert.Equal(1, fisher.UpdateCount);
        fisher.Update(g, TestContext.Current.CancellationToken);
        Assert.Equal(2, fisher.UpdateCount);
    }

    private static byte[] Save(BlockDiagonalFisher<double> fisher)
    {
        using var stream = new MemoryStream();
        fisher.Save(stream);
        return stream.ToArray();
    }
}
