using Curvature.Backends.Managed;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Tests.TestKit;
using Xunit;
using static Curvature.Tests.Optimizers.OptimizerHarness;
using Eigen = Curvature.Tests.TestKit.DenseOracle;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// <see cref="EkfacOptimizer{T}"/> against a dense float64 oracle of its algorithm (George et al. 2018 with running
/// scalings): factors A, G as bias-corrected moving averages; eigenbases of the running factors every T steps; scalings
/// <c>s = N Σ_n (Q_Gᵀ g_n x̃_nᵀ Q_A)∘2</c> of each batch averaged in the current basis and, when the basis changes,
/// re-initialised from <c>λ_G ⊗ λ_A</c>; the step <c>Q_G ((Q_Gᵀ V Q_A) / (s + λ)) Q_Aᵀ</c>. The oracle diagonalises with its
/// own Jacobi solver; everything compared is invariant to the signs of the eigenvectors.
/// </summary>
public class EkfacOptimizerTests
{
    private static readonly LayerSpec[] Layers = [LayerSpec.Linear("0", 5, 4), LayerSpec.Linear("1", 4, 3, bias: false)];

    private static EkfacOptimizerOptions Options(int period = 3) => new()
    {
        EigenbasisUpdatePeriod = period,
        StatisticsDecay = 0.7,
        Damping = 1e-2,
        DampingAdaptation = DampingAdaptation.Fixed,
        KlClip = null,
        Momentum = 0,
    };

    /// <summary>The oracle's state of one Kronecker block (joint [W | b], weight only, or bias only).</summary>
    private sealed class BlockOracle(int rows, int cols, bool hasWeight)
    {
        public double[,] A = new double[cols, cols];
        public double[,] G = new double[rows, rows];
        public double[,] S = new double[rows, hasWeight ? cols : 1];
        public double[,]? QA;
        public double[,]? QG;

        public int Rows => rows;

        public int Columns => hasWeight ? cols : 1;

        public bool HasWeight => hasWeight;

        /// <summary>x̃ for example r: the layer input, [x | 1] for a joint block.</summary>
        public double X(double[] x, int din, int r, int c) => c < din ? x[(r * din) + c] : 1.0;

        public void Update(double[] x, double[] g, int n, int din, double keep, double add, bool refresh)
        {
            int dout = rows;
            if (hasWeight)
            {
                for (int i = 0; i < cols; i++)
                {
                    for (int j = 0; j < cols; j++)
                    {
                        double sum = 0;
                        for (int r = 0; r < n; r++)
                        {
                            sum += X(x, din, r, i) * X(x, din, r, j);
                        }

                        A[i, j] = (keep * A[i, j]) + (add * sum / n);
                    }
                }
            }

            for (int i = 0; i < dout; i++)
            {
                for (int j = 0; j < dout; j++)
                {
                    double sum = 0;
                    for (int r = 0; r < n; r++)
                    {
                        sum += g[(r * dout) + i] * g[(r * dout) + j];
                    }

                    G[i, j] = (keep * G[i, j]) + (add * n * sum);
                }
            }

            if (QG is not null)
            {
                // The batch's scalings in the current basis: κ Σ_n ((Q_Gᵀ g_n)_i (Q_Aᵀ x̃_n)_j)², κ = N.
                for (int i = 0; i < dout; i++)
                {
                    for (int j = 0; j < Columns; j++)
                    {
                        double sum = 0;
                        for (int r = 0; r < n; r++)
                        {
                            double gi = 0, xj = 1;
                            for (int o = 0; o < dout; o++)
                            {
                                gi += QG[o, i] * g[(r * dout) + o];
                            }

                            if (hasWeight)
                            {
                                xj = 0;
                                for (int c = 0; c < cols; c++)
                                {
                                    xj += QA![c, j] * X(x, din, r, c);
                                }
                            }

                            sum += gi * gi * xj * xj;
                        }

                        S[i, j] = (keep * S[i, j]) + (add * n * sum);
                    }
                }
            }

            if (refresh)
            {
                var (lg, qg) = Eigen.SymmetricEigen(G);
                QG = qg;
                double[] la = [1.0];
                if (hasWeight)
                {
                    (la, QA) = Eigen.SymmetricEigen(A);
                }

                for (int i = 0; i < dout; i++)
                {
                    for (int j = 0; j < Columns; j++)
                    {
                        S[i, j] = Math.Max(lg[i], 0) * Math.Max(la[j], 0);
                    }
                }
            }
        }

        /// <summary>Q_G ((Q_Gᵀ V Q_A) / (s + λ)) Q_Aᵀ for V = [rows, Columns].</summary>
        public double[,] Apply(double[,] v, double lambda)
        {
            var qa = hasWeight ? QA! : new double[,] { { 1.0 } };
            var z = Eigen.Multiply(Eigen.Multiply(Eigen.Transpose(QG!), v), qa);
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < Columns; j++)
                {
                    z[i, j] /= S[i, j] + lambda;
                }
            }

            return Eigen.Multiply(Eigen.Multiply(QG!, z), Eigen.Transpose(qa));
        }
    }

    public static TheoryData<string, bool> Cases() => TestBackends.NamesWithFlag();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps_FollowTheDenseAlgorithm(string backendName, bool separate)
    {
        var backend = TestBackends.Get(backendName);
        var model = new ModelSpec(Layers, separate);
        var options = Options();
        var rng = new Random(3);
        var (values, grads) = Bind<double>(model, rng);
        using var ekfac = new EkfacOptimizer<double>(backend, model, values, grads, options);

        // One oracle per Kronecker block, in the optimizer's statistics order (G, A, s per block).
        var blocks = model.Blocks.Select(b => new BlockOracle(b.OutputSize, b.InputSize, b.HasInputFactor)).ToArray();
        double weight = 0;
        for (int step = 0; step < 7; step++)
        {
            int n = 6 + (step % 3);
            var inputs = Layers.Select(l => Random<double>(rng, n * l.WeightInputSize)).ToArray();
            var outputs = Layers.Select(l => Random<double>(rng, n * l.OutputSize, 0.3)).ToArray();
            for (int li = 0; li < Layers.Length; li++)
            {
                Assert.True(ekfac.Observe(Layers[li].Name, inputs[li], [n, Layers[li].WeightInputSize], outputs[li], [1, n, Layers[li].OutputSize]));
            }

            var gradient = Random<double>(rng, model.Dimension);
            foreach (var p in model.Parameters)
            {
                gradient.AsSpan(p.Offset, p.Length).CopyTo(grads.Get<double>(p.Name).Span);
            }

            ekfac.Precondition();
            var direction = Flat<double>(model, grads);

            weight = (options.StatisticsDecay * weight) + 1;
            bool refresh = step % options.EigenbasisUpdatePeriod == 0;
            var expected = new double[model.Dimension];
            for (int bi = 0; bi < blocks.Length; bi++)
            {
                var layout = model.Blocks[bi];
                var oracle = blocks[bi];
                int li = layout.LayerIndex;
                oracle.Update(inputs[li], outputs[li], n, Layers[li].WeightInputSize, 1 - (1 / weight), 1 / weight, refresh);

                // Statistics: G, A, s of this block.
                var statistics = LayerStatistics(ekfac, Layers[li].Name);
                int offset = model.Blocks.Where(b => b.LayerIndex == li && b.Index < layout.Index).Sum(b => (b.OutputSize * b.OutputSize) + (b.InputSize * b.InputSize) + (b.OutputSize * b.Columns));
                int gLength = layout.OutputSize * layout.OutputSize, aLength = layout.InputSize * layout.InputSize;
                AssertClose(Kfac.DenseOracle.Flat(oracle.G), statistics.AsSpan(offset, gLength), 1e-13, $"step {step} block {bi} G");
                AssertClose(Kfac.DenseOracle.Flat(oracle.A), statistics.AsSpan(offset + gLength, aLength), 1e-13, $"step {step} block {bi} A");
                AssertClose(Kfac.DenseOracle.Flat(oracle.S), statistics.AsSpan(offset + gLength + aLength, layout.OutputSize * layout.Columns), 1e-11, $"step {step} block {bi} scalings");

                // Direction of the block: pack [∇W | ∇b], apply, unpack.
                var v = new double[layout.OutputSize, layout.Columns];
                int din = Layers[li].WeightInputSize;
                for (int i = 0; i < layout.OutputSize; i++)
                {
                    for (int j = 0; j < layout.Columns; j++)
                    {
                        v[i, j] = layout.HasWeight && j < din ? gradient[layout.WeightOffset + (i * din) + j] : gradient[layout.BiasOffset + i];
                    }
                }

                var e = oracle.Apply(v, options.Damping);
                for (int i = 0; i < layout.OutputSize; i++)
                {
                    for (int j = 0; j < layout.Columns; j++)
                    {
                        expected[layout.HasWeight && j < din ? layout.WeightOffset + (i * din) + j : layout.BiasOffset + i] = e[i, j];
                    }
                }
            }

            AssertClose(expected, direction, 1e-11, $"step {step} direction");
        }
    }

    [Fact]
    public void RejectedCalls_LeaveStateUntouched()
    {
        var backend = new ManagedBackend();
        var model = new ModelSpec(Layers);
        var (values, grads) = Bind<double>(model, new Random(1));
        using var ekfac = new EkfacOptimizer<double>(backend, model, values, grads, Options(2));
        var rng = new Random(2);
        Assert.Equal(StepRejectionReason.MissingStatistics, Assert.Throws<StepRejectedException>(() => ekfac.Step(1.0)).Reason);
        var x = Random<double>(rng, 4 * 5);
        var y = Random<double>(rng, 4 * 4);
        ekfac.Observe("0", x, [4, 5], y, [1, 4, 4]);
        ekfac.Observe("1", Random<double>(rng, 4 * 4), [4, 4], Random<double>(rng, 4 * 3), [1, 4, 3]);
        FillGradients<double>(grads, rng);
        ekfac.Step(1.0);
        var before = State(ekfac, values);

        y[1] = double.NaN;
        Assert.Throws<ArgumentException>(() => ekfac.Observe("0", x, [4, 5], y, [1, 4, 4]));
        Assert.Throws<ArgumentException>(() => ekfac.Observe("0", Random<double>(rng, 25), [5, 5], Random<double>(rng, 16), [1, 4, 4]));
        Assert.Throws<ArgumentException>(() => ekfac.Observe("0", x, [4, 5], Random<double>(rng, 12), [1, 4, 3]));
        Assert.Throws<ArgumentException>(() => ekfac.Observe("0", x, [4, 5], Random<double>(rng, 16), [4, 4]));
        FillGradients<double>(grads, rng);
        grads.Get<double>("1.weight").Span[3] = double.PositiveInfinity;
        Assert.Equal(StepRejectionReason.NonFiniteGradient, Assert.Throws<StepRejectedException>(() => ekfac.Step(1.0)).Reason);
        Assert.Equal(before, State(ekfac, values));

        Assert.Throws<ArgumentOutOfRangeException>(() => new EkfacOptimizer<double>(backend, model, values, grads, Options() with { Damping = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EkfacOptimizer<double>(backend, model, values, grads, Options() with { EigenbasisUpdatePeriod = 0 }));
        var (halfValues, halfGrads) = (new Curvature.Parameters.ParameterSet(), new Curvature.Parameters.ParameterSet());
        Assert.Throws<NotSupportedException>(() => new EkfacOptimizer<Half>(backend, model, halfValues, halfGrads));
    }

    [Fact]
    public void Float_TracksDouble()
    {
        var backend = new ManagedBackend();
        var model = new ModelSpec(Layers);
        var (dv, dg) = Bind<double>(model, new Random(1));
        var (fv, fg) = Bind<float>(model, new Random(1));
        using var pd = new EkfacOptimizer<double>(backend, model, dv, dg, Options(2));
        using var pf = new EkfacOptimizer<float>(backend, model, fv, fg, Options(2));
        var rng = new Random(4);
        for (int step = 0; step < 3; step++)
        {
            foreach (var layer in Layers)
            {
                var x = Random<double>(rng, 8 * layer.WeightInputSize);
                var y = Random<double>(rng, 8 * layer.OutputSize, 0.3);
                pd.Observe(layer.Name, x, [8, layer.WeightInputSize], y, [1, 8, layer.OutputSize]);
                pf.Observe(layer.Name, x.Select(v => (float)v).ToArray(), [8, layer.WeightInputSize], y.Select(v => (float)v).ToArray(), [1, 8, layer.OutputSize]);
            }

            var gradient = Random<double>(rng, model.Dimension);
            foreach (var p in model.Parameters)
            {
                gradient.AsSpan(p.Offset, p.Length).CopyTo(dg.Get<double>(p.Name).Span);
                gradient.AsSpan(p.Offset, p.Length).ToArray().Select(v => (float)v).ToArray().CopyTo(fg.Get<float>(p.Name).Span);
            }

            pd.Precondition();
            pf.Precondition();
            AssertClose(Flat<double>(model, dg), Flat<float>(model, fg).Select(v => (double)v).ToArray(), 1e-3, $"step {step}");
        }
    }
}
