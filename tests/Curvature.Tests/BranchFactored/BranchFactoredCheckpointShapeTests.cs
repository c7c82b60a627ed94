using CommunityToolkit.HighPerformance;
using Curvature.BranchFactored;
using Curvature.Parameters;
using Curvature.Serialization;
using Xunit;

namespace Curvature.Tests.BranchFactored;

/// <summary>A fixed-projection checkpoint for another parameter count is rejected by <c>Load</c>, not by the next step.</summary>
public sealed class BranchFactoredCheckpointShapeTests
{
    private static readonly BranchFactoredOptions Fixed = new() { Projection = ProjectionMode.Fixed, Damping = 1e-2, Seed = 3 };

    private static byte[] SavedAfterOneStep(int parameters)
    {
        var rng = new Random(parameters);
        var pre = new BranchFactoredPreconditioner<double>(Fixed);
        pre.Step(DenseOracle.RandomVector(rng, parameters), DenseOracle.RandomVector(rng, parameters), new ReadOnlySpan2D<double>(DenseOracle.Random(rng, 5, 3)), new double[parameters]);
        var saved = new MemoryStream();
        pre.Save(saved);
        return saved.ToArray();
    }

    [Fact]
    public void Load_ProjectionForAnotherParameterCount_AfterAStep_IsRejected_AndStateIsUnchanged()
    {
        var rng = new Random(7);
        var target = new BranchFactoredPreconditioner<double>(Fixed);
        var theta = DenseOracle.RandomVector(rng, 12);
        var g = DenseOracle.RandomVector(rng, 12);
        var branches = DenseOracle.Random(rng, 5, 3);
        target.Step(theta, g, new ReadOnlySpan2D<double>(branches), new double[12]);
        var state = target.State;
        var projection = target.LastProjection.ToArray();

        var e = Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(SavedAfterOneStep(10))));
        Assert.Contains("10", e.Message);
        Assert.Equal(state, target.State);
        Assert.Equal(projection, target.LastProjection.ToArray());

        // The next step still works with the preconditioner's own projection.
        target.Step(theta, g, new ReadOnlySpan2D<double>(branches), new double[12]);
        Assert.Equal(projection, target.LastProjection.ToArray());
    }

    [Fact]
    public void Load_ProjectionForAnotherParameterCount_AfterInitialize_IsRejected()
    {
        var parameters = new ParameterSet();
        parameters.Add("w", new double[12], 3, 4);
        var target = new BranchFactoredPreconditioner<double>(Fixed);
        target.Initialize(parameters);
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(SavedAfterOneStep(10))));

        // The right count loads.
        target.Load(new MemoryStream(SavedAfterOneStep(12)));
        Assert.Equal(1, target.State.Steps);
    }
}
