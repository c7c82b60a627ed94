using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Serialization;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Ekfac;

public class EkfacCheckpointTests
{
    private static EkfacOperator<double> Build(int seed, bool separate = false) =>
        EkfacTestProblem.Create(separate, WeightSharing.Expand, LossReduction.Mean, seed).Build(TestBackends.Get("managed")).ToOperator();

    private static List<double[]> Snapshot(EkfacOperator<double> op) =>
    [
        .. op.Blocks.SelectMany(b => new[]
        {
            b.GradientCovariance.ToArray().Cast<double>().ToArray(), b.InputCovariance.ToArray().Cast<double>().ToArray(),
            b.GradientEigenvectors.ToArray().Cast<double>().ToArray(), b.InputEigenvectors.ToArray().Cast<double>().ToArray(),
            b.GradientEigenvalues.ToArray(), b.InputEigenvalues.ToArray(), b.CorrectedEigenvalues.ToArray().Cast<double>().ToArray(),
        }),
    ];

    private static byte[] Save<T>(EkfacOperator<T> op)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        using var ms = new MemoryStream();
        op.Save(ms);
        return ms.ToArray();
    }

    [Fact]
    public void SaveLoad_RoundTripRestoresEveryQuantity()
    {
        var source = Build(1);
        var target = Build(2);
        Assert.NotEqual(source.ToDense(), target.ToDense());
        target.Load(new MemoryStream(Save(source)));
        var expected = Snapshot(source);
        var actual = Snapshot(target);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }

        Assert.Equal(source.ToDense(), target.ToDense());
        Assert.Equal(source.Inverse(1e-3).ToDense(), target.Inverse(1e-3).ToDense());
    }

    [Fact]
    public void Load_MismatchedBlocks_IsRejectedWithoutTouchingState()
    {
        var target = Build(2);
        var before = Snapshot(target);
        var otherStructure = Build(1, separate: true); // different block count and kinds
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(otherStructure))));

        // Same structure but a renamed layer.
        var layers = EkfacTestProblem.Layers().ToList();
        layers[2] = LayerSpec.Linear("renamed", 6, 5);
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, 1);
        var renamedModel = new ModelSpec(layers);
        var renamed = new EkfacBuilder<double>(TestBackends.Get("managed"), renamedModel, problem.Options).ToOperator();
        var e = Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(renamed))));
        Assert.Contains("renamed", e.Message);

        // Same names, different shape.
        layers = [.. EkfacTestProblem.Layers()];
        layers[3] = LayerSpec.Linear("3", 5, 2, bias: false);
        var reshaped = new EkfacBuilder<double>(TestBackends.Get("managed"), new ModelSpec(layers), problem.Options).ToOperator();
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(reshaped))));

        // Corrupted bytes and another element type.
        var bytes = Save(Build(1));
        bytes[bytes.Length / 2] ^= 0x40;
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(bytes)));
        var floatOp = new EkfacBuilder<float>(TestBackends.Get("managed"), target.Model, problem.Options).ToOperator();
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(floatOp))));

        var after = Snapshot(target);
        for (int i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i], after[i]);
        }
    }
}
