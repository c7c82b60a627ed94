using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.BranchFactored;
using Curvature.Parameters;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.BranchFactored;

public sealed class BranchFactoredPreconditionerTests
{
    public static TheoryData<int, int, int, int, long, double> Sizes => new()
    {
        // n, K, D, blocks, seed, damping
        { 7, 5, 3, 2, 1, 1e-3 },
        { 20, 12, 8, 4, 2027, 1e-3 },
        { 33, 4, 10, 3, 5, 0.1 },      // K < D: rank-deficient covariance, damping makes it PD
        { 10, 6, 5, 7, 9, 1e-2 },      // more blocks requested than state dimensions
        { 5, 1, 4, 2, 11, 1e-3 },      // one sample: covariance 0, C = damp·I
        { 12, 9, 6, 1, 3, 1e-3 },      // a single block
        { 50, 20, 13, 4, 42, 1e-3 },   // 13 = 4 + 3 + 3 + 3
        { 1, 3, 2, 2, 77, 1e-3 },      // one parameter
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Step_MatchesDenseSeedFormulas(int n, int k, int d, int blocks, long seed, double damping)
    {
        var rng = new Random((int)seed + 1000);
        var options = new BranchFactoredOptions { LearningRate = 0.05, Damping = damping, Blocks = blocks, Seed = seed };
        var pre = new BranchFactoredPreconditioner<double>(options);
        var theta = DenseOracle.RandomVector(rng, n);
        for (int step = 0; step < 3; step++)
        {
            var g = DenseOracle.RandomVector(rng, n);
            var b = DenseOracle.Random(rng, k, d, 2.0);
            var updated = new double[n];
            var state = pre.Step(theta, g, new ReadOnlySpan2D<double>(b), updated);

            var p = pre.LastProjection.ToArray();
            Assert.Equal(n, p.GetLength(0));
            Assert.Equal(d, p.GetLength(1));
            var (expected, expectedNorm) = SeedReference.Step(theta, g, b, p, 0.05, damping, blocks, null);
            DenseOracle.AssertClose(expected, updated, 1e-12);
            Assert.Equal(expectedNorm, state.PreconditionedGradientNorm!.Value, 1e-12 * Math.Max(1, expectedNorm));
            Assert.Equal(step + 1, state.Steps);
            Assert.True(state.UsedBranches);
            theta = updated;
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Step_OnEveryBackend_MatchesDenseSeedFormulas(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var rng = new Random(5);
        var pre = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Blocks = 3, Damping = 1e-2, LearningRate = 0.1 }, backend: backend);
        var theta = DenseOracle.RandomVector(rng, 40);
        var g = DenseOracle.RandomVector(rng, 40);
        var b = DenseOracle.Random(rng, 16, 11);
        var updated = new double[40];
        pre.Step(theta, g, new ReadOnlySpan2D<double>(b), updated);
        var (expected, _) = SeedReference.Step(theta, g, b, pre.LastProjection.ToArray(), 0.1, 1e-2, 3, null);
        DenseOracle.AssertClose(expected, updated, 1e-12);
    }

    [Fact]
    public void Step_Float_MatchesDenseSeedFormulasWithinSinglePrecision()
    {
        var rng = new Random(17);
        int n = 24, k = 10, d = 6;
        var pre = new BranchFactoredPreconditioner<float>(new BranchFactoredOptions { LearningRate = 0.05, Damping = 0.05, Blocks = 2, Seed = 3 });
        var theta = DenseOracle.RandomVector(rng, n);
        var g = DenseOracle.RandomVector(rng, n);
        var b = DenseOracle.Random(rng, k, d);
        var updated = new float[n];
        pre.Step(ToFloat(theta), ToFloat(g), new ReadOnlySpan2D<float>(ToFloat(b)), updated);
        var pf = pre.LastProjection.ToArray();
        var p = new double[n, d];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++)
            {
                p[i, j] = pf[i, j];
            }
        }

        var (expected, _) = SeedReference.Step(
            Array.ConvertAll(ToFloat(theta), x => (double)x), Array.ConvertAll(ToFloat(g), x => (double)x), ToDouble(ToFloat(b)), p, 0.05, 0.05, 2, null);
        DenseOracle.AssertClose(expected, Array.ConvertAll(updated, x => (double)x), 2e-5);
    }

    [Fact]
    public void Step_Float_BlockThatFailsInFloat32_IsRetriedInFloat64()
    {
        // Two identical state dimensions with covariance [[4, 4], [4, 4]] and damping 1e-9: in float32, 4 + 1e-9 = 4, so the
        // Cholesky breaks down exactly (l22² = 4 − 2·2 = 0); in float64 the damped matrix is positive definite.
        float[,] b = { { -2f, -2f }, { 0f, 0f }, { 2f, 2f } };
        var cov = EmpiricalCovariance.Compute(ManagedBackend.Shared, new ReadOnlySpan2D<float>(b));
        Assert.Equal(new float[,] { { 4f, 4f }, { 4f, 4f } }, cov);
        cov[0, 0] += 1e-9f;
        cov[1, 1] += 1e-9f;
        Assert.False(ManagedBackend.Shared.TryCholeskyFactor(new Span2D<float>(cov), Curvature.Backends.Triangle.Lower).Succeeded);

        var pre = new BranchFactoredPreconditioner<float>(new BranchFactoredOptions { Damping = 1e-9, Blocks = 1, LearningRate = 1e-3 });
        float[] theta = [0.5f, -0.25f, 1f];
        float[] g = [1f, 2f, -1f];
        var updated = new float[3];
        pre.Step(theta, g, new ReadOnlySpan2D<float>(b), updated);

        // Oracle: the seed's formulas in float64 on the same float32 inputs and projection.
        var pf = pre.LastProjection.ToArray();
        var p = new double[3, 2];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                p[i, j] = pf[i, j];
            }
        }

        var (expected, _) = SeedReference.Step(
            Array.ConvertAll(theta, x => (double)x), Array.ConvertAll(g, x => (double)x), ToDouble(b), p, 1e-3, 1e-9, 1, null);
        var actual = Array.ConvertAll(updated, x => (double)x);
        Assert.All(actual, x => Assert.True(double.IsFinite(x)));
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4 * scale);
        }
    }

    [Fact]
    public void Step_Clip_ClipsTheUpdatedParametersAndReportsTheUnclippedDirectionNorm()
    {
        var rng = new Random(3);
        int n = 15;
        var options = new BranchFactoredOptions { LearningRate = 0.5, Damping = 1e-2, Blocks = 2, Clip = 0.4 };
        var pre = new BranchFactoredPreconditioner<double>(options);
        var theta = DenseOracle.RandomVector(rng, n, 2.0);
        var g = DenseOracle.RandomVector(rng, n);
        var b = DenseOracle.Random(rng, 8, 5);
        var updated = new double[n];
        var state = pre.Step(theta, g, new ReadOnlySpan2D<double>(b), updated);
        var (expected, norm) = SeedReference.Step(theta, g, b, pre.LastProjection.ToArray(), 0.5, 1e-2, 2, 0.4);
        DenseOracle.AssertClose(expected, updated, 1e-12);
        Assert.All(updated, x => Assert.InRange(x, -0.4, 0.4));
        Assert.Contains(updated, x => Math.Abs(x) == 0.4);
        Assert.Equal(norm, state.PreconditionedGradientNorm!.Value, 1e-12 * norm);
    }

    [Fact]
    public void Step_WithoutBranches_FallsBackToThePlainGradient()
    {
        var pre = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { LearningRate = 0.1, Clip = 1.0 });
        double[] theta = [0.5, -0.95, 2.0];
        double[] g = [1.0, 2.0, -3.0];
        var updated = new double[3];
        var state = pre.Step(theta, g, updated);
        var (expected, norm) = SeedReference.Step(theta, g, null, null, 0.1, 0, 1, 1.0);
        DenseOracle.AssertClose(expected, updated, 1e-15);
        Assert.Equal([0.4, -1.0, 1.0], updated);
        Assert.Equal(norm, state.PreconditionedGradientNorm!.Value, 1e-15);
        Assert.False(state.UsedBranches);
        Assert.Equal(1, state.Steps);
        Assert.True(pre.LastProjection.IsEmpty);
    }

    [Theory]
    [InlineData(-1)]   // no branches at all
    [InlineData(1)]    // a vector
    [InlineData(3)]    // a 3-D tensor
    public void Step_ParameterSet_BranchesMissingOrNot2D_FallsBackToThePlainGradient(int rank)
    {
        var parameters = new ParameterSet();
        parameters.Add("w", new[] { 1.0, 2.0, 3.0, 4.0 }, 2, 2);
        parameters.Add("b", new[] { 0.5 });
        var grads = new ParameterSet();
        grads.Add("w", new[] { 1.0, 1.0, 1.0, 1.0 }, 4);
        grads.Add("b", new[] { -2.0 });
        var context = new BranchStepContext<double> { Gradients = grads };
        if (rank == 1)
        {
            context.SetBranches(new double[4], 4);
        }
        else if (rank == 3)
        {
            context.SetBranches(new double[8], 2, 2, 2);
        }

        var pre = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { LearningRate = 0.5 });
        var state = pre.Step(parameters, context);
        Assert.Equal([0.5, 1.5, 2.5, 3.5], parameters.Get<double>("w").Span.ToArray());
        Assert.Equal(1.5, parameters.Get<double>("b").Span[0]);
        Assert.False(state.UsedBranches);
        Assert.Equal(Math.Sqrt(8.0), state.PreconditionedGradientNorm!.Value, 1e-15);
    }

    [Fact]
    public void Step_ParameterSet_UsesTheSortedLayoutAndMatchesTheFlatStep()
    {
        var rng = new Random(8);
        // Insertion order differs from the layout order "a" < "bias" < "w".
        var parameters = new ParameterSet();
        parameters.Add("w", DenseOracle.RandomVector(rng, 6), 2, 3);
        parameters.Add("bias", DenseOracle.RandomVector(rng, 3), 3);
        parameters.Add(NamedTensor<double>.Scalar("a", 0.25));
        var grads = new ParameterSet();
        grads.Add("w", DenseOracle.RandomVector(rng, 6), 6);         // same size, other shape: accepted, as in the seed
        grads.Add("bias", DenseOracle.RandomVector(rng, 3), 3);
        grads.Add(NamedTensor<double>.Scalar("a", -1.0));
        grads.Add("unused", new[] { 1.0, 2.0 });                      // extra names are ignored
        var b = DenseOracle.Random(rng, 7, 4);
        var context = new BranchStepContext<double>(new ReadOnlyMemory2D<double>(b), grads);

        double[] theta = [0.25, .. parameters.Get<double>("bias").Span, .. parameters.Get<double>("w").Span];
        double[] g = [-1.0, .. grads.Get<double>("bias").Span, .. grads.Get<double>("w").Span];
        var options = new BranchFactoredOptions { Blocks = 2, Damping = 1e-2, LearningRate = 0.2 };
        var flat = new BranchFactoredPreconditioner<double>(options);
        var expected = new double[10];
        flat.Step(theta, g, new ReadOnlySpan2D<double>(b), expected);

        var pre = new BranchFactoredPreconditioner<double>(options);
        var destination = parameters.Clone();
        var state = pre.Step(parameters, context, destination);
        Assert.Equal(theta, parameters.Flatten<double>());                   // the source is unchanged
        Assert.Equal(expected, destination.Flatten<double>());
        Assert.Equal(new[] { 2, 3 }, destination["w"].Shape.ToArray());
        Assert.Equal(0, destination["a"].Rank);
        Assert.True(state.UsedBranches);

        var (oracle, _) = SeedReference.Step(theta, g, b, pre.LastProjection.ToArray(), 0.2, 1e-2, 2, null);
        DenseOracle.AssertClose(oracle, destination.Flatten<double>(), 1e-12);
    }

    [Fact]
    public void Step_GradientEstimator_TakesPriorityOverContextGradients()
    {
        var parameters = new ParameterSet();
        parameters.Add("x", new[] { 1.0, 2.0 });
        var grads = new ParameterSet();
        grads.Add("x", new[] { 100.0, 100.0 });
        int calls = 0;
        BranchGradientEstimator<double> estimator = (p, ctx, gradient) =>
        {
            calls++;
            Assert.Same(parameters, p);
            Assert.Equal(2, gradient.Length);
            gradient[0] = 2 * p.Get<double>("x").Span[0];
            gradient[1] = 2 * p.Get<double>("x").Span[1];
        };
        var pre = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { LearningRate = 0.25 }, estimator);
        pre.Step(parameters, new BranchStepContext<double> { Gradients = grads });
        Assert.Equal(1, calls);
        Assert.Equal([0.5, 1.0], parameters.Get<double>("x").Span.ToArray());
    }

    [Fact]
    public void Step_NoGradientSource_Throws()
    {
        var parameters = new ParameterSet();
        parameters.Add("x", new[] { 1.0, 2.0 });
        var pre = new BranchFactoredPreconditioner<double>();
        var e = Assert.Throws<ArgumentException>(() => pre.Step(parameters, new BranchStepContext<double>()));
        Assert.Contains("either a gradient estimator or the context's gradients", e.Message);
        e = Assert.Throws<ArgumentException>(() => pre.Step(parameters, new BranchStepContext<double> { Gradients = new ParameterSet() }));
        Assert.Contains("either a gradient estimator", e.Message);
        Assert.Equal([1.0, 2.0], parameters.Get<double>("x").Span.ToArray());
        Assert.Equal(0, pre.State.Steps);
    }

    [Fact]
    public void Step_GradientSizeMismatchOrMissing_ThrowsAndLeavesStateUntouched()
    {
        var parameters = new ParameterSet();
        parameters.Add("w", new[] { 1.0, 2.0, 3.0 });
        parameters.Add("b", new[] { 1.0 });
        var pre = new BranchFactoredPreconditioner<double>();
        var grads = new ParameterSet();
        grads.Add("w", new[] { 1.0, 2.0 });
        grads.Add("b", new[] { 1.0 });
        var e = Assert.Throws<ArgumentException>(() => pre.Step(parameters, new BranchStepContext<double> { Gradients = grads }));
        Assert.Contains("Gradient size mismatch for key 'w'", e.Message);

        var missing = new ParameterSet();
        missing.Add("w", new[] { 1.0, 2.0, 3.0 });
        e = Assert.Throws<ArgumentException>(() => pre.Step(parameters, new BranchStepContext<double> { Gradients = missing }));
        Assert.Contains("'b'", e.Message);
        Assert.Equal([1.0, 1.0, 2.0, 3.0], parameters.Flatten<double>());
        Assert.Equal(0, pre.State.Steps);
        Assert.Null(pre.State.PreconditionedGradientNorm);
    }

    [Fact]
    public void Step_FlatLengthMismatchOrNonFiniteInput_Throws()
    {
        var pre = new BranchFactoredPreconditioner<double>();
        var b = new double[3, 2];
        Assert.Throws<ArgumentException>(() => pre.Step(new double[3], new double[2], new ReadOnlySpan2D<double>(b), new double[3]));
        Assert.Throws<ArgumentException>(() => pre.Step(new double[3], new double[3], new ReadOnlySpan2D<double>(b), new double[4]));
        Assert.Throws<ArgumentException>(() => pre.Step(new double[3], [0, double.NaN, 0], new double[3]));
        Assert.Throws<ArgumentException>(() => pre.Step([double.PositiveInfinity, 0, 0], new double[3], new double[3]));
        b[1, 1] = double.NaN;
        Assert.Throws<ArgumentException>(() => pre.Step(new double[3], new double[3], new ReadOnlySpan2D<double>(b), new double[3]));
        Assert.Throws<ArgumentException>(() => pre.Step(new double[3], new double[3], new ReadOnlySpan2D<double>(new double[0, 2]), new double[3]));
        Assert.Equal(0, pre.State.Steps);
    }

    [Fact]
    public void Step_NonPositiveDefiniteBlock_ThrowsWithBlockIndexAndLeavesStateUntouched()
    {
        var rng = new Random(4);
        int n = 6;
        // Columns 2 and 3 are constant: with no damping the second block's covariance is zero.
        var bad = DenseOracle.Random(rng, 5, 4);
        for (int i = 0; i < 5; i++)
        {
            bad[i, 2] = 1.0;
            bad[i, 3] = -2.0;
        }

        var good = DenseOracle.Random(rng, 5, 4);
        var options = new BranchFactoredOptions { Damping = 0, Blocks = 2, LearningRate = 0.1 };
        var pre = new BranchFactoredPreconditioner<double>(options);
        var twin = new BranchFactoredPreconditioner<double>(options);
        var theta = DenseOracle.RandomVector(rng, n);
        var g = DenseOracle.RandomVector(rng, n);
        var scratch = new double[n];
        pre.Step(theta, g, new ReadOnlySpan2D<double>(good), scratch);
        twin.Step(theta, g, new ReadOnlySpan2D<double>(good), scratch);
        var before = pre.State;
        var projectionBefore = pre.LastProjection.ToArray();

        var destination = (double[])theta.Clone();
        var e = Assert.Throws<MatrixNotPositiveDefiniteException>(() => pre.Step(destination, g, new ReadOnlySpan2D<double>(bad), destination));
        Assert.Contains("Block 1 of 2", e.Message);
        Assert.Equal(2, e.Order);
        Assert.Equal(theta, destination);
        Assert.Equal(before, pre.State);
        Assert.Equal(projectionBefore, pre.LastProjection.ToArray());

        // The generator did not advance: the next step equals the twin's, which never saw the failure.
        var a = new double[n];
        var c = new double[n];
        pre.Step(theta, g, new ReadOnlySpan2D<double>(good), a);
        twin.Step(theta, g, new ReadOnlySpan2D<double>(good), c);
        Assert.Equal(c, a);

        // All-zero covariance in the first block (one sample) → block 0.
        e = Assert.Throws<MatrixNotPositiveDefiniteException>(() => pre.Step(theta, g, new ReadOnlySpan2D<double>(new double[1, 4]), scratch));
        Assert.Contains("Block 0 of 2", e.Message);
    }

    [Fact]
    public void Step_SameSeed_IsDeterministic_AndDrawsAFreshProjectionEachStep()
    {
        var rng = new Random(12);
        var theta = DenseOracle.RandomVector(rng, 9);
        var g = DenseOracle.RandomVector(rng, 9);
        var b = DenseOracle.Random(rng, 6, 4);
        var p1 = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Seed = 99 });
        var p2 = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Seed = 99 });
        var p3 = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Seed = 100 });
        var x1 = new double[9];
        var x2 = new double[9];
        var x3 = new double[9];
        p1.Step(theta, g, new ReadOnlySpan2D<double>(b), x1);
        p2.Step(theta, g, new ReadOnlySpan2D<double>(b), x2);
        p3.Step(theta, g, new ReadOnlySpan2D<double>(b), x3);
        Assert.Equal(x1, x2);
        Assert.NotEqual(x1, x3);
        var first = p1.LastProjection.ToArray();
        p1.Step(theta, g, new ReadOnlySpan2D<double>(b), x1);
        Assert.NotEqual(first, p1.LastProjection.ToArray());

        // The projection's entries are the generator's normals scaled by 1/√D, in row-major order.
        var gen = new SeededGaussian(99);
        for (int i = 0; i < 9; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(gen.NextGaussian() * (1.0 / Math.Sqrt(4)), first[i, j]);
            }
        }
    }

    [Fact]
    public void Step_FixedProjection_ReusesTheFirstDrawAndRejectsOtherSizes()
    {
        var rng = new Random(2);
        var theta = DenseOracle.RandomVector(rng, 8);
        var g = DenseOracle.RandomVector(rng, 8);
        var b = DenseOracle.Random(rng, 6, 3);
        var pre = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Projection = ProjectionMode.Fixed, Damping = 1e-2 });
        var x = new double[8];
        pre.Step(theta, g, new ReadOnlySpan2D<double>(b), x);
        var p = pre.LastProjection.ToArray();
        for (int step = 0; step < 3; step++)
        {
            var b2 = DenseOracle.Random(rng, 6, 3);
            var g2 = DenseOracle.RandomVector(rng, 8);
            pre.Step(x, g2, new ReadOnlySpan2D<double>(b2), x);
            Assert.Equal(p, pre.LastProjection.ToArray());
        }

        var y = new double[8];
        var (expected, _) = SeedReference.Step(x, g, b, p, 5e-3, 1e-2, 4, null);
        pre.Step(x, g, new ReadOnlySpan2D<double>(b), y);
        DenseOracle.AssertClose(expected, y, 1e-12);

        var e = Assert.Throws<ArgumentException>(() => pre.Step(x, g, new ReadOnlySpan2D<double>(DenseOracle.Random(rng, 6, 4)), y));
        Assert.Contains("fixed projection", e.Message);
        Assert.Throws<ArgumentException>(() => pre.Step(new double[5], new double[5], new ReadOnlySpan2D<double>(b), new double[5]));
    }

    [Fact]
    public void Step_ZeroStateDimensions_GivesAZeroDirection()
    {
        var pre = new BranchFactoredPreconditioner<double>();
        double[] theta = [1.0, 2.0];
        var x = new double[2];
        var state = pre.Step(theta, [3.0, 4.0], new ReadOnlySpan2D<double>(new double[3, 0]), x);
        Assert.Equal(theta, x);
        Assert.Equal(0.0, state.PreconditionedGradientNorm);
    }

    [Fact]
    public void Step_NoParameters_IsANoOp()
    {
        var pre = new BranchFactoredPreconditioner<double>();
        var state = pre.Step([], [], new ReadOnlySpan2D<double>(DenseOracle.Random(new Random(1), 3, 2)), []);
        Assert.Equal(0.0, state.PreconditionedGradientNorm);
        Assert.Equal(1, state.Steps);
        Assert.True(pre.Step(new ParameterSet(), new BranchStepContext<double> { Gradients = Single("x") }).Steps == 2);
    }

    private static ParameterSet Single(string name)
    {
        var set = new ParameterSet();
        set.Add(name, new[] { 1.0 });
        return set;
    }

    [Fact]
    public void Initialize_ResetsTheStepCount()
    {
        var parameters = new ParameterSet();
        parameters.Add("x", new[] { 1.0 });
        var grads = new ParameterSet();
        grads.Add("x", new[] { 1.0 });
        var pre = new BranchFactoredPreconditioner<double>();
        var s0 = pre.Initialize(parameters);
        Assert.Equal(new BranchFactoredState(0, null, false), s0);
        pre.Step(parameters, new BranchStepContext<double> { Gradients = grads });
        pre.Step(parameters, new BranchStepContext<double> { Gradients = grads });
        Assert.Equal(2, pre.State.Steps);
        Assert.Equal(0, pre.Initialize(parameters).Steps);
    }

    [Fact]
    public void Options_OutOfRange_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Damping = -1e-3 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Blocks = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Clip = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { LearningRate = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BranchFactoredPreconditioner<float>(new BranchFactoredOptions { Projection = (ProjectionMode)7 }));
    }

    [Fact]
    public void Step_SteadyState_AllocatesNothing()
    {
        var rng = new Random(21);
        int n = 64, k = 16, d = 12;
        var theta = DenseOracle.RandomVector(rng, n);
        var g = DenseOracle.RandomVector(rng, n);
        var b = DenseOracle.Random(rng, k, d);
        var x = new double[n];
        var flat = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Damping = 1e-2, Blocks = 3, Clip = 10 }, backend: new ManagedBackend());

        var parameters = new ParameterSet();
        parameters.Add("w", DenseOracle.RandomVector(rng, 48), 6, 8);
        parameters.Add("b", DenseOracle.RandomVector(rng, 16), 16);
        var grads = new ParameterSet();
        grads.Add("w", DenseOracle.RandomVector(rng, 48), 48);
        grads.Add("b", DenseOracle.RandomVector(rng, 16), 16);
        var context = new BranchStepContext<double>(new ReadOnlyMemory2D<double>(b), grads);
        var fromMap = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Damping = 1e-2 });
        BranchGradientEstimator<double> estimator = (p, c, grad) => grad.Fill(0.01);
        var fromEstimator = new BranchFactoredPreconditioner<double>(new BranchFactoredOptions { Damping = 1e-2, Projection = ProjectionMode.Fixed }, estimator);
        var floatPre = new BranchFactoredPreconditioner<float>(new BranchFactoredOptions { Damping = 1e-2 });
        var thetaF = ToFloat(theta);
        var gF = ToFloat(g);
        var bF = ToFloat(b);
        var xF = new float[n];

        void RunAll()
        {
            flat.Step(theta, g, new ReadOnlySpan2D<double>(b), x);
            flat.Step(theta, g, x);
            fromMap.Step(parameters, context);
            fromEstimator.Step(parameters, context);
            floatPre.Step(thetaF, gF, new ReadOnlySpan2D<float>(bF), xF);
        }

        RunAll();
        RunAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            RunAll();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(7, fromMap.State.Steps);
    }

    private static float[] ToFloat(double[] v) => Array.ConvertAll(v, x => (float)x);

    private static float[,] ToFloat(double[,] m)
    {
        var f = new float[m.GetLength(0), m.GetLength(1)];
        for (int i = 0; i < m.GetLength(0); i++)
        {
            for (int j = 0; j < m.GetLength(1); j++)
            {
                f[i, j] = (float)m[i, j];
            }
        }

        return f;
    }

    private static double[,] ToDouble(float[,] m)
    {
        var f = new double[m.GetLength(0), m.GetLength(1)];
        for (int i = 0; i < m.GetLength(0); i++)
        {
            for (int j = 0; j < m.GetLength(1); j++)
            {
                f[i, j] = m[i, j];
            }
        }

        return f;
    }
}
