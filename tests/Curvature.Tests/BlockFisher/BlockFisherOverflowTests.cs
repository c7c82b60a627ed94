using Curvature.Backends.Managed;
using Curvature.BlockFisher;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.BlockFisher;

/// <summary>Huge finite gradients whose Fisher estimate overflows are rejected and leave the state as it was.</summary>
public sealed class BlockFisherOverflowTests
{
    private static readonly BlockFisherOptions Options = new() { BlockSize = 2, MaxBlocks = 1, Decay = 0.9, Damping = 1e-3 };

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Update_OverflowingDiagonalRemainder_IsRejected_StateUnchanged(string backend)
    {
        var fisher = new BlockDiagonalFisher<double>(TestBackends.Get(backend), 4, Options);
        fisher.Update([1.0, 2.0, 3.0, 4.0]);
        var before = Snapshot(fisher);

        Assert.Throws<ArgumentException>(() => fisher.Update([1.0, 2.0, 1e200, 4.0]));
        Assert.Equal(before, Snapshot(fisher));
        Assert.Equal(1, fisher.UpdateCount);
        var applied = new double[4];
        fisher.Apply([1.0, 1.0, 1.0, 1.0], applied);
        Assert.All(applied, v => Assert.True(double.IsFinite(v)));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Update_OverflowingDenseBlock_IsRejected_StateUnchanged(string backend)
    {
        var fisher = new BlockDiagonalFisher<float>(TestBackends.Get(backend), 4, Options);
        fisher.Update([1f, 2f, 3f, 4f]);
        var dense = new float[4];
        fisher.CopyBlockFisher(0, dense);

        Assert.Throws<ArgumentException>(() => fisher.Update([1e20f, 1f, 1f, 1f]));
        Assert.Throws<ArgumentException>(() => fisher.UpdatePerExample(new float[,] { { 1f, 1f, 1f, 1f }, { 1f, 1f, 3e20f, 1f } }));
        var after = new float[4];
        fisher.CopyBlockFisher(0, after);
        Assert.Equal(dense, after);
        Assert.Equal(1, fisher.UpdateCount);

        // The state still saves and loads.
        var saved = new MemoryStream();
        fisher.Save(saved);
        new BlockDiagonalFisher<float>(new ManagedBackend(), 4, Options).Load(new MemoryStream(saved.ToArray()));
    }

    [Fact]
    public void Apply_NonFiniteVector_OrOverflowingResult_Throws()
    {
        var fisher = new BlockDiagonalFisher<double>(new ManagedBackend(), 4, Options);
        Assert.Throws<ArgumentException>(() => fisher.Apply([1.0, double.NaN, 1.0, 1.0], new double[4]));
        Assert.Throws<ArgumentException>(() => fisher.Apply([1.0, 1.0, 1e306, 1.0], new double[4])); // 1e306 / 1e-3 overflows
    }

    private static double[] Snapshot(BlockDiagonalFisher<double> f)
    {
        var block = new double[4];
        f.CopyBlockFisher(0, block);
        var diagonal = new double[f.DiagonalCount];
        f.CopyDiagonal(diagonal);
        return [.. block, .. diagonal];
    }
}
