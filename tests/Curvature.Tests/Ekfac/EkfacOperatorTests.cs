using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Ekfac;

public class EkfacOperatorTests
{
    public static TheoryData<string, bool, WeightSharing, LossReduction> Configurations()
    {
        var data = new TheoryData<string, bool, WeightSharing, LossReduction>();
        foreach (var name in new[] { "managed", "openblas", "mkl" })
        {
            data.Add(name, false, WeightSharing.Expand, LossReduction.Mean);
            data.Add(name, true, WeightSharing.Reduce, LossReduction.Sum);
            data.Add(name, true, WeightSharing.Expand, LossReduction.Mean);
            data.Add(name, false, WeightSharing.Reduce, LossReduction.Mean);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Ekfac_IsNeverFartherFromExactBlockFisherThanKfac(string backendName, bool separate, WeightSharing approx, LossReduction reduction)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(separate, approx, reduction, seed: 11);
        int dim = problem.Model.Dimension;
        var exact = problem.ExactBlockFisher();
        var kfac = EkfacDense.FromRowMajor(problem.Factors(backend).ToOperator().ToDense(), dim);
        var ekfac = EkfacDense.FromRowMajor(problem.Build(backend).ToOperator().ToDense(), dim);
        double dK = EkfacDense.FrobeniusDistance(exact, kfac);
        double dE = EkfacDense.FrobeniusDistance(exact, ekfac);
        Assert.True(dE <= dK * (1 + 1e-12), $"EKFAC distance {dE} > K-FAC distance {dK}");
        Assert.True(dE < 0.99 * dK, $"EKFAC ({dE}) should improve on K-FAC ({dK}) for random data");
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void CorrectedEigenvalues_AreTheExactFisherDiagonalInTheEigenbasis(string backendName, bool separate, WeightSharing approx, LossReduction reduction)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(separate, approx, reduction, seed: 5);
        var exact = problem.ExactBlockFisher();
        double scale = EkfacDense.MaxAbs(exact);
        var builder = problem.Build(backend);
        foreach (var block in builder.Blocks)
        {
            var layout = block.Layout;
            int cols = layout.Columns, dOut = layout.OutputSize;
            var lambda = block.CorrectedEigenvalues;
            for (int i = 0; i < dOut; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    // u = Q_G[:, i] ⊗ Q_A[:, j] (vec_row), λ_ij must be uᵀ F u.
                    var u = new double[dOut * cols];
                    for (int o = 0; o < dOut; o++)
                    {
                        for (int c = 0; c < cols; c++)
                        {
                            u[(o * cols) + c] = block.GradientEigenvectors[o, i] * (layout.HasInputFactor ? block.InputEigenvectors[c, j] : 1.0);
                        }
                    }

                    double q = 0;
                    for (int a = 0; a < u.Length; a++)
                    {
                        int pa = EkfacTestProblem.FlatIndex(layout, a / cols, a % cols);
                        for (int b = 0; b < u.Length; b++)
                        {
                            q += u[a] * exact[pa, EkfacTestProblem.FlatIndex(layout, b / cols, b % cols)] * u[b];
                        }
                    }

                    Assert.True(Math.Abs(q - lambda[i, j]) <= 1e-12 * scale, $"block {layout}: λ[{i},{j}] = {lambda[i, j]}, uᵀFu = {q}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void BothStrategies_AgreeTo1e12(string backendName, bool separate, WeightSharing approx, LossReduction reduction)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(separate, approx, reduction, seed: 3);
        var perExample = problem.Build(backend, EkfacCorrectionStrategy.PerExampleGradients);
        var gramian = problem.Build(backend, EkfacCorrectionStrategy.Gramian);
        var automatic = problem.Build(backend);
        for (int i = 0; i < perExample.Blocks.Count; i++)
        {
            var a = perExample.Blocks[i].CorrectedEigenvalues.ToArray().Cast<double>().ToArray();
            var b = gramian.Blocks[i].CorrectedEigenvalues.ToArray().Cast<double>().ToArray();
            var c = automatic.Blocks[i].CorrectedEigenvalues.ToArray().Cast<double>().ToArray();
            double max = a.Max(Math.Abs);
            Assert.True(max > 0);
            for (int j = 0; j < a.Length; j++)
            {
                Assert.True(Math.Abs(a[j] - b[j]) <= 1e-12 * max, $"block {i} entry {j}: {a[j]} vs {b[j]}");
                Assert.True(Math.Abs(a[j] - c[j]) <= 1e-12 * max, $"block {i} entry {j}: {a[j]} vs {c[j]}");
            }
        }
    }

    [Fact]
    public void TestProblem_ExercisesEveryEvaluationOrder()
    {
        // Conv2d joint block (S = 4, D1 = 3, D2 = 9): per-example, formed first; Linear S = 2 (4, 4): per-example, rotated
        // first; Linear S = 1 (5, 7): Gramian by the seed's memory rule.
        Assert.False(Curvature.Ekfac.Internals.EigenvalueCorrection.UseGramian(EkfacCorrectionStrategy.Automatic, 4, 3, 9));
        Assert.True(Curvature.Ekfac.Internals.EigenvalueCorrection.FormGradientsFirst(4, 3, 9));
        Assert.False(Curvature.Ekfac.Internals.EigenvalueCorrection.UseGramian(EkfacCorrectionStrategy.Automatic, 2, 4, 4));
        Assert.False(Curvature.Ekfac.Internals.EigenvalueCorrection.FormGradientsFirst(2, 4, 4));
        Assert.True(Curvature.Ekfac.Internals.EigenvalueCorrection.UseGramian(EkfacCorrectionStrategy.Automatic, 1, 5, 7));
        Assert.True(Curvature.Ekfac.Internals.EigenvalueCorrection.UseGramian(EkfacCorrectionStrategy.Gramian, 4, 3, 9));
        Assert.False(Curvature.Ekfac.Internals.EigenvalueCorrection.UseGramian(EkfacCorrectionStrategy.PerExampleGradients, 1, 5, 7));
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Inverse_EqualsDenseInverseOfDampedEkfac(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, seed: 7);
        var op = problem.Build(backend).ToOperator();
        int dim = op.Dimension;
        const double damping = 1e-2;
        var dense = EkfacDense.FromRowMajor(op.ToDense(), dim);
        for (int i = 0; i < dim; i++)
        {
            dense[i, i] += damping;
        }

        var (expected, _) = EkfacDense.Invert(dense);
        var actual = EkfacDense.FromRowMajor(op.Inverse(damping).ToDense(), dim);
        double scale = EkfacDense.MaxAbs(expected);
        Assert.True(EkfacDense.FrobeniusDistance(expected, actual) <= 1e-9 * scale * dim);
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void TraceNormLogdet_MatchDenseMatrix(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var problem = EkfacTestProblem.Create(true, WeightSharing.Expand, LossReduction.Sum, seed: 9, batchSizes: [12, 10]);
        var op = problem.Build(backend).ToOperator();
        int dim = op.Dimension;
        var dense = EkfacDense.FromRowMajor(op.ToDense(), dim);
        double trace = 0, frob = 0;
        for (int i = 0; i < dim; i++)
        {
            trace += dense[i, i];
            for (int j = 0; j < dim; j++)
            {
                frob += dense[i, j] * dense[i, j];
            }
        }

        var (_, logDet) = EkfacDense.Invert(dense);
        Assert.Equal(trace, op.Trace(), 1e-10 * Math.Abs(trace));
        Assert.Equal(Math.Sqrt(frob), op.FrobeniusNorm(), 1e-10 * Math.Sqrt(frob));
        Assert.Equal(logDet, op.LogDeterminant(), 1e-8 * Math.Abs(logDet));
        Assert.Equal(Math.Exp(op.LogDeterminant()), op.Determinant(), 1e-12 * Math.Exp(op.LogDeterminant()));
    }

    [Fact]
    public void Multiply_ManyColumnsMatchesApplyPerColumn()
    {
        var backend = TestBackends.Get("managed");
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, seed: 2);
        var op = problem.Build(backend).ToOperator();
        int dim = op.Dimension, k = 3;
        var rng = new Random(1);
        var m = Enumerable.Range(0, dim * k).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var result = new double[dim * k];
        op.Multiply(new ReadOnlySpan2D<double>(m, dim, k), new Span2D<double>(result, dim, k));
        for (int c = 0; c < k; c++)
        {
            var col = Enumerable.Range(0, dim).Select(i => m[(i * k) + c]).ToArray();
            var y = new double[dim];
            op.Apply(col, y);
            for (int i = 0; i < dim; i++)
            {
                Assert.Equal(y[i], result[(i * k) + c], 1e-14);
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        op.Multiply(new ReadOnlySpan2D<double>(m, dim, k), new Span2D<double>(result, dim, k));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Float_AgreesWithDouble()
    {
        var backend = TestBackends.Get("managed");
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, seed: 4, batchSizes: [10, 9]);
        var reference = problem.Build(backend).ToOperator();
        var batches = problem.Batches.Select(b => (IReadOnlyList<EkfacLayerData<float>>)b.Select(l =>
            new EkfacLayerData<float>(l.LayerName, l.Input.Select(x => (float)x).ToArray(), l.InputShape, l.Gradients.Select(x => (float)x).ToArray(), l.GradientShape)).ToList());
        var op = EkfacBuilder<float>.Compute(backend, problem.Model, problem.Options, batches, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(reference.Trace(), op.Trace(), 1e-4 * reference.Trace());
        var d = reference.ToDense();
        var f = op.ToDense();
        double max = d.Max(Math.Abs);
        for (int i = 0; i < d.Length; i++)
        {
            Assert.True(Math.Abs(d[i] - f[i]) <= 1e-4 * max, $"entry {i}: {d[i]} vs {f[i]}");
        }
    }

    [Fact]
    public void Compute_ReportsProgressForBothPasses_AndEqualsStepwiseBuild()
    {
        var backend = TestBackends.Get("managed");
        var problem = EkfacTestProblem.Create(true, WeightSharing.Reduce, LossReduction.Mean, seed: 8);
        var reports = new List<EkfacProgress>();
        var op = EkfacBuilder<double>.Compute(backend, problem.Model, problem.Options, problem.Batches, new SyncProgress(reports.Add), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal([new(EkfacPhase.Factors, 1), new(EkfacPhase.Factors, 2), new(EkfacPhase.Corrections, 1), new(EkfacPhase.Corrections, 2)], reports);
        Assert.Equal(problem.Build(backend).ToOperator().ToDense(), op.ToDense());
    }

    [Fact]
    public void MoreThanOneLossTermPerExample_IsRejected()
    {
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, seed: 1);
        var options = problem.Options with { LossTermsPerExample = 3 };
        var e = Assert.Throws<NotSupportedException>(() => new EkfacBuilder<double>(TestBackends.Get("managed"), problem.Model, options));
        Assert.Contains("P = 3", e.Message);
        Assert.Throws<NotSupportedException>(() => new EkfacBuilder<double>(TestBackends.Get("managed"), problem.Model, problem.Options with { Fisher = FisherType.ForwardOnly }));
    }

    [Fact]
    public void RejectedAccumulation_LeavesCorrectionsUntouched()
    {
        var backend = TestBackends.Get("managed");
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, seed: 1);
        var builder = problem.Build(backend);
        var before = builder.Blocks.Select(b => b.CorrectedEigenvalues.ToArray()).ToList();
        var data = problem.Batches[0][2];
        var bad = (double[])data.Gradients.Clone();
        bad[3] = double.NaN;
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(data.LayerName, data.Input, data.InputShape, bad, data.GradientShape));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(data.LayerName, data.Input, data.InputShape, data.Gradients, [2, 5, 4]));
        Assert.Throws<ArgumentException>(() => builder.AccumulateLayer(data.LayerName, data.Input, data.InputShape, data.Gradients, []));
        for (int i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i], builder.Blocks[i].CorrectedEigenvalues.ToArray());
        }
    }

    [Fact]
    public void Inverse_RejectsNegativeDampingAndSingularMatrix()
    {
        var backend = TestBackends.Get("managed");
        var problem = EkfacTestProblem.Create(false, WeightSharing.Expand, LossReduction.Mean, seed: 1);
        var builder = problem.Build(backend);
        var op = builder.ToOperator();
        Assert.Throws<ArgumentOutOfRangeException>(() => op.Inverse(-1e-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => op.Inverse(double.NaN));
        builder.Blocks[1].CorrectedEigenvalues[0, 0] = 0;
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => op.Inverse(0));
        _ = op.Inverse(1e-6);
    }

    private sealed class SyncProgress(Action<EkfacProgress> report) : IProgress<EkfacProgress>
    {
        public void Report(EkfacProgress value) => report(value);
    }
}
