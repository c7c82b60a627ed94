using Curvature.Backends;
using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.BlockFisher;
using Curvature.BranchFactored;
using Curvature.Kfac;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Fuzz;

/// <summary>Defects the fuzz suite found, pinned as plain tests.</summary>
public class FuzzRegressionTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void BranchFactored_StepWhoseDirectionOverflows_IsRejected_StateUnchanged(string backend)
    {
        var options = new BranchFactoredOptions { Damping = 1e-9, Seed = 4 };
        var pre = new BranchFactoredPreconditioner<double>(options, backend: TestBackends.Get(backend));
        var branches = new double[,] { { 1, 2 }, { 1, 1 }, { 1, -1 } }; // state 0 has no variance: C⁻¹ amplifies it by 1e9
        pre.Step([1.0, 2.0, 3.0], [0.1, 0.2, 0.3], new ReadOnlySpan2D<double>(branches), new double[3]);
        var saved = FuzzKit.Saved(pre.Save);
        var state = pre.State;
        var projection = pre.LastProjection.ToArray();

        // Finite input whose preconditioned direction overflows: used to commit an infinite norm that Load then refused.
        Assert.Throws<ArgumentException>(() => pre.Step([1.0, 2.0, 3.0], [1e306, 1e306, 1e306], new ReadOnlySpan2D<double>(branches), new double[3]));
        Assert.Equal(state, pre.State);
        Assert.Equal(projection, pre.LastProjection.ToArray());
        Assert.Equal(saved, FuzzKit.Saved(pre.Save));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void BranchFactored_SamplesWhoseCovarianceCouldOverflow_AreRejectedOnEveryBackend(string backend)
    {
        var pre = new BranchFactoredPreconditioner<double>(backend: TestBackends.Get(backend));
        var branches = new double[,] { { 1e154, -3e153, 1 }, { -2e154, 1e154, 0 } };
        var e = Assert.Throws<ArgumentException>(() => pre.Step([1.0, 2.0], [0.5, 0.5], new ReadOnlySpan2D<double>(branches), new double[2]));
        Assert.Equal("branches", e.ParamName);
        Assert.Equal(0, pre.State.Steps);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void SymmetricEigen_EntriesSpanningTheDoubleRange_SucceedsOnEveryBackend(string backend)
    {
        // A matrix the fuzz suite drew (order 6; entries from 1e-308 to 1.5e+247): OpenBLAS's ?syevd returned info 4 on
        // it while the managed eigensolver succeeded. Every backend must now succeed, with the same eigenvalues.
        double[] values =
        [
            4.32671203013822E-308, 1.5113832911063838E+247, 0, 0.9123152996936419, 1.2891761219544226E-307, -7.269326517018176E-304,
            1.5113832911063838E+247, 0, 0, 0.8991033136374798, 0.28604634538574447, 1.513902436249844E+236,
            0, 0, -7.811288725496871E-302, 0, -9.201342453808218E-305, -0.3472594019711295,
            0.9123152996936419, 0.8991033136374798, 0, 0.6665052825894697, 0, 0,
            1.2891761219544226E-307, 0.28604634538574447, -9.201342453808218E-305, 0, -0.898030079853735, 0.5191906278576659,
            -7.269326517018176E-304, 1.513902436249844E+236, -0.3472594019711295, 0, 0.5191906278576659, 0.03776074714854394,
        ];
        const int n = 6;
        var a = (double[])values.Clone();
        var w = new double[n];
        var status = TestBackends.Get(backend).TrySymmetricEigen(new Span2D<double>(a, n, n), Triangle.Lower, w);
        Assert.True(status.Succeeded, $"{backend}: info {status.Info}");

        var reference = (double[])values.Clone();
        var expected = new double[n];
        Assert.True(TestBackends.Get("managed").TrySymmetricEigen(new Span2D<double>(reference, n, n), Triangle.Lower, expected).Succeeded);
        double scale = expected.Max(Math.Abs);
        for (int j = 0; j < n; j++)
        {
            Assert.True(Math.Abs(w[j] - expected[j]) <= 1e-13 * scale, $"{backend}: eigenvalue {j} {w[j]} vs {expected[j]}");
        }

        // The eigenvalues are those of A: their sum is its trace and the largest pair is ±1.5113832911063838e247.
        Assert.Equal(1.5113832911063838E+247, w[^1], 1e-13 * scale);
        Assert.Equal(-1.5113832911063838E+247, w[0], 1e-13 * scale);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void CholeskyInverse_WhoseIntermediatesCanOverflow_FailsOnEveryBackend_AndLargeButSafeInversesSucceed(string backend)
    {
        var b = TestBackends.Get(backend);

        // The contract that makes the backends agree near the overflow threshold (the kernel fuzz property, with factors
        // of entries up to 1e308, found OpenBLAS and the managed kernels disagreeing in both directions on whether such
        // inverses overflow, because their evaluation orders overflow in different intermediate products): an inverse
        // whose diagonal exceeds Ω / (n²·max(1, max|L|)) is an overflow on every backend. L = [[1e-10, 0], [1e308, 1e300]]
        // has a finite inverse (diagonal ≈ 1e36), but the product 1e308 · 1e10 of one evaluation order overflows.
        var factor = new double[] { 1e-10, 0, 1e308, 1e300 };
        var status = b.TryCholeskyInverse(new Span2D<double>(factor, 2, 2), Triangle.Lower);
        Assert.False(status.Succeeded, $"{backend}: accepted");
        Assert.Equal(1, status.Info);

        // Large inverses of moderate factors are still computed: L = diag(1e-100, 2e-100) gives A⁻¹ = diag(1e200, 2.5e199).
        var small = new double[] { 1e-100, 0, 0, 2e-100 };
        Assert.True(b.TryCholeskyInverse(new Span2D<double>(small, 2, 2), Triangle.Lower).Succeeded);
        Assert.Equal(1e200, small[0], 1e186);
        Assert.Equal(2.5e199, small[3], 1e185);
    }

    [Fact]
    public void BranchFactored_SaveLoadSave_IsByteIdentical_WithAConsumedGaussianSpare()
    {
        // n·D = 5 Gaussians per step: the second step consumes the spare of the first, leaving a stale value behind.
        var options = new BranchFactoredOptions { Projection = ProjectionMode.FreshEachStep, Damping = 1e-2, Seed = 9 };
        var pre = new BranchFactoredPreconditioner<double>(options);
        var branches = new double[,] { { 1, 2, 0, 1, 3 }, { 0, 1, 1, -1, 2 } };
        pre.Step([1.0], [0.5], new ReadOnlySpan2D<double>(branches), new double[1]);
        pre.Step([1.0], [0.5], new ReadOnlySpan2D<double>(branches), new double[1]);
        byte[] saved = FuzzKit.Saved(pre.Save);
        var copy = new BranchFactoredPreconditioner<double>(options);
        copy.Load(new MemoryStream(saved));
        Assert.Equal(saved, FuzzKit.Saved(copy.Save));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void BlockFisher_GradientsNearTheOverflowBound_AreRejectedOnEveryBackend(string backend)
    {
        // Whether Σ g gᵀ/N overflows used to depend on the backend's order of operations (MKL accepted what managed refused).
        var fisher = new BlockDiagonalFisher<double>(TestBackends.Get(backend), 3, new BlockFisherOptions { BlockSize = 3 });
        var rows = new double[,] { { 1.2e154, 1, 1 }, { 1.2e154, 1, 1 }, { 1.2e154, 1, 1 }, { 1.2e154, 1, 1 } };
        Assert.Throws<ArgumentException>(() => fisher.UpdatePerExample(rows));
        Assert.Equal(0, fisher.UpdateCount);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void KfacFactorBuilder_InputWhoseFactorWouldOverflow_IsRejected_FactorsUnchanged(string backend)
    {
        var model = new ModelSpec([LayerSpec.Linear("fc", 2, 2)]);
        var builder = new KfacFactorBuilder<double>(TestBackends.Get(backend), model, new KfacOptions { NumData = 1 });
        builder.AccumulateLayer(0, [1.0, 2.0], [1, 2], [0.5, 0.25], [1, 1, 2]);
        double[] before = [.. builder.Blocks[0].InputStorage, .. builder.Blocks[0].GradientStorage];

        // Used to be accepted with an infinite input factor.
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, [1e200, 1.0], [1, 2], [0.5, 0.25], [1, 1, 2]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(0, [1.0, 1.0], [1, 2], [1e160, 0.25], [1, 1, 2]));
        double[] after = [.. builder.Blocks[0].InputStorage, .. builder.Blocks[0].GradientStorage];
        Assert.Equal(before, after);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void KfacOperator_ProductThatOverflows_Throws_InsteadOfReturningInfinity(string backend)
    {
        // Both factors near 1e300 (accepted: each is finite and below the bound); G·V·A then overflows for V = 1.
        var model = new ModelSpec([LayerSpec.Linear("fc", 1, 1, bias: false)]);
        var builder = new KfacFactorBuilder<double>(TestBackends.Get(backend), model, new KfacOptions { NumData = 1, Reduction = Curvature.Loss.LossReduction.Sum });
        builder.AccumulateLayer(0, [1e150], [1, 1], [1e150], [1, 1, 1]);
        var result = new double[1];
        Assert.Throws<ArgumentException>(() => builder.ToOperator().Apply([1.0], result));
    }
}
