using Curvature.AdaFisher;
using Curvature.Backends.Managed;
using Curvature.BlockFisher;
using Xunit;

namespace Curvature.Tests.AdaFisher;

/// <summary>Unstructured parameters in principled mode: block-diagonal empirical Fisher from real gradients.</summary>
public class AdaFisherBlockFisherTests
{
    [Fact]
    public void PerExampleGradients_DriveTheBlockFisher_AndTheStep()
    {
        var options = new AdaFisherOptions { BlockSize = 2, MaxBlocks = 1, Epsilon = 0.1, FisherDecay = 0.5, WeightDecay = 0, LearningRate = 0.1, Beta = 0.5 };
        var x = new AdaFisherParameter<double>("x", new double[] { 1, 2, 3 }, new double[] { 0.3, -0.1, 0.2 });
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), options);
        opt.AddParameter(x);
        double[,] perExample = { { 1, 0, 2 }, { 1, 2, 0 } };
        Assert.True(opt.ObservePerExampleGradients("x", perExample));
        opt.Step();

        // F̂ = (1/2)Σ g gᵀ on block [0, 2): [[1, 1], [1, 2]]; remainder diagonal (4 + 0)/2 = 2.
        var block = new double[4];
        opt.GetBlockFisher("x")!.CopyBlockFisher(0, block);
        Assert.Equal([1.0, 1.0, 1.0, 2.0], block);
        var diag = new double[1];
        opt.GetBlockFisher("x")!.CopyDiagonal(diag);
        Assert.Equal(2.0, diag[0]);

        // m̂ = grad (β = 0.5, first step). (F + 0.1 I)⁻¹ on [[1.1, 1], [1, 2.1]]: det = 2.31 − 1 = 1.31.
        double u0 = ((2.1 * 0.3) - (1 * -0.1)) / 1.31, u1 = ((1.1 * -0.1) - (1 * 0.3)) / 1.31, u2 = 0.2 / 2.1;
        Assert.Equal(1 - (0.1 * u0), x.Values.Span[0], 1e-14);
        Assert.Equal(2 - (0.1 * u1), x.Values.Span[1], 1e-14);
        Assert.Equal(3 - (0.1 * u2), x.Values.Span[2], 1e-14);
        Assert.Equal(new AdaFisherParameterStatistics(2, 1, 1.5), opt.GetStatistics("x"));
    }

    [Fact]
    public void WithoutPerExampleGradients_UsesTheStepGradient()
    {
        var options = new AdaFisherOptions { BlockSize = 3, Epsilon = 0.1 };
        var x = new AdaFisherParameter<double>("x", new double[] { 1, 2, 3 }, new double[] { 0.3, -0.1, 0.2 });
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), options);
        opt.AddParameter(x);
        opt.Step();
        var reference = new BlockDiagonalFisher<double>(new ManagedBackend(), 3, new BlockFisherOptions { BlockSize = 3, Damping = 0.1 });
        reference.Update([0.3, -0.1, 0.2]);
        var expected = new double[9];
        var actual = new double[9];
        reference.CopyBlockFisher(0, expected);
        opt.GetBlockFisher("x")!.CopyBlockFisher(0, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void OfficialMode_HasNoBlockFisher()
    {
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), AdaFisherOptions.Official());
        opt.AddParameter(new AdaFisherParameter<double>("x", 3));
        Assert.Null(opt.GetBlockFisher("x"));
        Assert.Throws<InvalidOperationException>(() => opt.ObservePerExampleGradients("x", new double[1, 3]));
    }
}
