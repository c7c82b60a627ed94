using CommunityToolkit.HighPerformance;
using Curvature.BranchFactored;
using Curvature.Serialization;
using Xunit;

namespace Curvature.Tests.BranchFactored;

public sealed class BranchFactoredCheckpointTests
{
    [Theory]
    [InlineData(ProjectionMode.FreshEachStep)]
    [InlineData(ProjectionMode.Fixed)]
    public void SaveLoad_ResumesTheSameStream(ProjectionMode mode)
    {
        var rng = new Random(1);
        var options = new BranchFactoredOptions { Projection = mode, Damping = 1e-2, Seed = 31 };
        var theta = DenseOracle.RandomVector(rng, 10);
        var g = DenseOracle.RandomVector(rng, 10);
        var b = DenseOracle.Random(rng, 5, 3);
        var original = new BranchFactoredPreconditioner<double>(options);
        var x = new double[10];
        original.Step(theta, g, new ReadOnlySpan2D<double>(b), x);
        original.Step(x, g, new ReadOnlySpan2D<double>(b), x);
        var saved = new MemoryStream();
        original.Save(saved);

        // A preconditioner with another seed takes over the saved stream.
        var restored = new BranchFactoredPreconditioner<double>(options with { Seed = 5 });
        restored.Load(new MemoryStream(saved.ToArray()));
        Assert.Equal(original.State, restored.State);

        var a = new double[10];
        var c = new double[10];
        original.Step(x, g, new ReadOnlySpan2D<double>(b), a);
        restored.Step(x, g, new ReadOnlySpan2D<double>(b), c);
        Assert.Equal(a, c);
        Assert.Equal(original.LastProjection.ToArray(), restored.LastProjection.ToArray());
        Assert.Equal(3, restored.State.Steps);
    }

    [Fact]
    public void Load_CorruptedOrForeignCheckpoint_ThrowsAndLeavesStateUntouched()
    {
        var pre = new BranchFactoredPreconditioner<double>();
        pre.Step([1.0, 2.0], [0.5, 0.5], new ReadOnlySpan2D<double>(new[,] { { 1.0, 2.0 }, { 0.0, 1.0 } }), new double[2]);
        var saved = new MemoryStream();
        pre.Save(saved);
        byte[] bytes = saved.ToArray();

        var target = new BranchFactoredPreconditioner<double>();
        var before = target.State;
        var corrupted = (byte[])bytes.Clone();
        corrupted[bytes.Length / 2] ^= 0x40;
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(corrupted)));
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(bytes[..^3])));
        Assert.Throws<CheckpointFormatException>(() => new BranchFactoredPreconditioner<float>().Load(new MemoryStream(bytes)));
        Assert.Throws<CheckpointFormatException>(() =>
            new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Projection = ProjectionMode.Fixed }).Load(new MemoryStream(bytes)));
        Assert.Equal(before, target.State);

        // Untouched generator: the target still produces the fresh stream of the default seed.
        var x = new double[2];
        var y = new double[2];
        target.Step([1.0, 2.0], [0.5, 0.5], new ReadOnlySpan2D<double>(new[,] { { 1.0, 2.0 }, { 0.0, 1.0 } }), x);
        new BranchFactoredPreconditioner<double>().Step([1.0, 2.0], [0.5, 0.5], new ReadOnlySpan2D<double>(new[,] { { 1.0, 2.0 }, { 0.0, 1.0 } }), y);
        Assert.Equal(y, x);
    }
}
