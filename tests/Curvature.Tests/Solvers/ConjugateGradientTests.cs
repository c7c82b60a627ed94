using Curvature.Operators;
using Curvature.Solvers;
using Curvature.Tests.BranchFactored;
using Xunit;

namespace Curvature.Tests.Solvers;

public sealed class ConjugateGradientTests
{
    private sealed class DenseOperator(double[,] a) : ILinearOperator<double>
    {
        public int Applications { get; set; }

        public int Dimension => a.GetLength(0);

        public void Apply(ReadOnlySpan<double> source, Span<double> destination)
        {
            Applications++;
            int n = Dimension;
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < n; j++)
                {
                    s += a[i, j] * source[j];
                }

                destination[i] = s;
            }
        }
    }

    private sealed class DenseFloatOperator(double[,] a) : ILinearOperator<float>
    {
        public int Dimension => a.GetLength(0);

        public void Apply(ReadOnlySpan<float> source, Span<float> destination)
        {
            for (int i = 0; i < Dimension; i++)
            {
                float s = 0;
                for (int j = 0; j < Dimension; j++)
                {
                    s += (float)a[i, j] * source[j];
                }

                destination[i] = s;
            }
        }
    }

    /// <summary>(G ⊗ A) acting on a row-major p × m matrix V as G V Aᵀ.</summary>
    private sealed class KroneckerOperator(double[,] g, double[,] a) : ILinearOperator<double>
    {
        private readonly double[] _tmp = new double[g.GetLength(0) * a.GetLength(0)];

        public int Dimension => g.GetLength(0) * a.GetLength(0);

        public void Apply(ReadOnlySpan<double> source, Span<double> destination)
        {
            int p = g.GetLength(0), m = a.GetLength(0);
            // tmp = V Aᵀ
            for (int i = 0; i < p; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    double s = 0;
                    for (int l = 0; l < m; l++)
                    {
                        s += source[i * m + l] * a[j, l];
                    }

                    _tmp[i * m + j] = s;
                }
            }

            for (int i = 0; i < p; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    double s = 0;
                    for (int k = 0; k < p; k++)
                    {
                        s += g[i, k] * _tmp[k * m + j];
                    }

                    destination[i * m + j] = s;
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(30)]
    [InlineData(64)]
    public void Solve_SpdSystem_MatchesDenseSolve(int n)
    {
        var rng = new Random(n);
        var a = DenseOracle.RandomSpd(rng, n, 0.5);
        var b = DenseOracle.RandomVector(rng, n);
        var x = new double[n];
        var result = ConjugateGradient.Solve(new DenseOperator(a), b, x, new ConjugateGradientWorkspace<double>(n),
            new ConjugateGradientOptions { RelativeTolerance = 1e-13 });
        Assert.True(result.Converged);
        Assert.InRange(result.Iterations, 1, 10 * n);
        var expected = DenseOracle.Solve(a, b);
        DenseOracle.AssertClose(expected, x, 1e-9);

        // The reported residual is the residual of the returned solution.
        var ax = DenseOracle.MatVec(a, x);
        double trueResidual = DenseOracle.Norm(b.Select((v, i) => v - ax[i]).ToArray());
        Assert.True(result.ResidualNorm <= 1e-13 * result.RightHandSideNorm);
        Assert.True(Math.Abs(trueResidual - result.ResidualNorm) <= 1e-11 * result.RightHandSideNorm);
        Assert.Equal(DenseOracle.Norm(b), result.RightHandSideNorm, 1e-14);
    }

    [Fact]
    public void Solve_Delegate_MatchesOperator()
    {
        var rng = new Random(3);
        int n = 20;
        var a = DenseOracle.RandomSpd(rng, n, 1.0);
        var b = DenseOracle.RandomVector(rng, n);
        var op = new DenseOperator(a);
        var x1 = new double[n];
        var x2 = new double[n];
        var ws = new ConjugateGradientWorkspace<double>(n);
        var r1 = ConjugateGradient.Solve(op, b, x1, ws);
        var r2 = ConjugateGradient.Solve<double>(op.Apply, b, x2, ws);
        Assert.Equal(r1, r2);
        Assert.Equal(x1, x2);
        DenseOracle.AssertClose(DenseOracle.Solve(a, b), x1, 1e-4);
    }

    [Fact]
    public void Solve_DelegateWithOperatorPreconditioner_AndLinearMapOperator_MatchDenseSolve()
    {
        var rng = new Random(13);
        int n = 12;
        var a = DenseOracle.RandomSpd(rng, n, 0.1);
        var b = DenseOracle.RandomVector(rng, n);
        var diagonalInverse = new LinearMapOperator<double>(n, (s, d) =>
        {
            for (int i = 0; i < n; i++)
            {
                d[i] = s[i] / a[i, i];
            }
        });
        var x = new double[n];
        var options = new ConjugateGradientOptions { RelativeTolerance = 1e-12 };
        var result = ConjugateGradient.Solve<double>(new DenseOperator(a).Apply, b, x, new ConjugateGradientWorkspace<double>(n), options, diagonalInverse);
        Assert.True(result.Converged);
        DenseOracle.AssertClose(DenseOracle.Solve(a, b), x, 1e-8);
        Assert.Throws<ArgumentException>(() => diagonalInverse.Apply(new double[n - 1], new double[n]));
    }

    [Fact]
    public void Solve_Float_MatchesDenseSolveInSinglePrecision()
    {
        var rng = new Random(4);
        int n = 16;
        var a = DenseOracle.RandomSpd(rng, n, 2.0);
        var b = DenseOracle.RandomVector(rng, n);
        var x = new float[n];
        var result = ConjugateGradient.Solve(new DenseFloatOperator(a), Array.ConvertAll(b, v => (float)v), x, new ConjugateGradientWorkspace<float>(n),
            new ConjugateGradientOptions { RelativeTolerance = 1e-5 });
        Assert.True(result.Converged);
        DenseOracle.AssertClose(DenseOracle.Solve(a, b), Array.ConvertAll(x, v => (double)v), 1e-3);
    }

    [Fact]
    public void Solve_SeedSettings_ReproduceTheSeedsCgIterates()
    {
        // The seed's cg_solve(A_mul, b, iters=10, tol=1e-6), transcribed: zero start, absolute tolerance, 10 iterations.
        var rng = new Random(9);
        int n = 25;
        var a = DenseOracle.RandomSpd(rng, n, 0.01);
        var b = DenseOracle.RandomVector(rng, n);
        var expected = SeedCg(a, b, 10, 1e-6);
        var x = new double[n];
        var result = ConjugateGradient.Solve(new DenseOperator(a), b, x, new ConjugateGradientWorkspace<double>(n),
            new ConjugateGradientOptions { RelativeTolerance = 0, AbsoluteTolerance = 1e-6, MaxIterations = 10 });
        Assert.Equal(ConjugateGradientTermination.IterationLimit, result.Termination);
        Assert.False(result.Converged);
        Assert.Equal(10, result.Iterations);
        DenseOracle.AssertClose(expected, x, 1e-10);
    }

    [Fact]
    public void Solve_PreconditionedKroneckerSystem_ConvergesInFewerIterations()
    {
        var rng = new Random(11);
        int p = 6, m = 9;
        var g = IllConditionedSpd(rng, p, 1e-3);
        var aFactor = IllConditionedSpd(rng, m, 1e-3);
        const double lambda = 1e-4, delta = 1e-2;

        // The system G ⊗ A + λI, built densely.
        int n = p * m;
        var dense = new double[n, n];
        for (int i = 0; i < p; i++)
        {
            for (int k = 0; k < p; k++)
            {
                for (int j = 0; j < m; j++)
                {
                    for (int l = 0; l < m; l++)
                    {
                        dense[i * m + j, k * m + l] = g[i, k] * aFactor[j, l];
                    }
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            dense[i, i] += lambda;
        }

        // Preconditioner (G + δI)⁻¹ ⊗ (A + δI)⁻¹, applied as a Kronecker product.
        var gInv = DenseOracle.Inverse(Shift(g, delta));
        var aInv = DenseOracle.Inverse(Shift(aFactor, delta));
        var preconditioner = new KroneckerOperator(gInv, aInv);

        var b = DenseOracle.RandomVector(rng, n);
        var expected = DenseOracle.Solve(dense, b);
        var options = new ConjugateGradientOptions { RelativeTolerance = 1e-10, MaxIterations = 5000 };
        var ws = new ConjugateGradientWorkspace<double>(n);

        var plainX = new double[n];
        var plain = ConjugateGradient.Solve(new DenseOperator(dense), b, plainX, ws, options);
        var precX = new double[n];
        var prec = ConjugateGradient.Solve(new DenseOperator(dense), b, precX, ws, options, preconditioner);

        Assert.True(plain.Converged, $"plain CG: {plain}");
        Assert.True(prec.Converged, $"preconditioned CG: {prec}");
        Assert.True(prec.Iterations * 3 <= plain.Iterations, $"preconditioned {prec.Iterations} vs plain {plain.Iterations} iterations");
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(expected[i], precX[i], 1e-6 * scale);
            Assert.Equal(expected[i], plainX[i], 1e-6 * scale);
        }
    }

    [Fact]
    public void Solve_StartingAtTheSolution_TakesNoIterations_AndZeroRightHandSideGivesZero()
    {
        var rng = new Random(5);
        int n = 8;
        var a = DenseOracle.RandomSpd(rng, n, 1);
        var b = DenseOracle.RandomVector(rng, n);
        var x = DenseOracle.Solve(a, b);
        var op = new DenseOperator(a);
        var result = ConjugateGradient.Solve(op, b, x, new ConjugateGradientWorkspace<double>(n),
            new ConjugateGradientOptions { UseInitialGuess = true, RelativeTolerance = 1e-10 });
        Assert.True(result.Converged);
        Assert.Equal(0, result.Iterations);
        Assert.Equal(1, op.Applications);

        var z = Enumerable.Repeat(7.0, n).ToArray();
        result = ConjugateGradient.Solve(op, new double[n], z, new ConjugateGradientWorkspace<double>(n));
        Assert.True(result.Converged);
        Assert.Equal(0, result.Iterations);
        Assert.All(z, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Solve_IterationCap_ReportsNotConverged()
    {
        var rng = new Random(6);
        int n = 30;
        var a = DenseOracle.RandomSpd(rng, n, 1e-3);
        var b = DenseOracle.RandomVector(rng, n);
        var x = new double[n];
        var result = ConjugateGradient.Solve(new DenseOperator(a), b, x, new ConjugateGradientWorkspace<double>(n),
            new ConjugateGradientOptions { MaxIterations = 3, RelativeTolerance = 1e-12 });
        Assert.False(result.Converged);
        Assert.Equal(ConjugateGradientTermination.IterationLimit, result.Termination);
        Assert.Equal(3, result.Iterations);
        Assert.True(result.RelativeResidual > 1e-12);
        var ax = DenseOracle.MatVec(a, x);
        Assert.Equal(DenseOracle.Norm(b.Select((v, i) => v - ax[i]).ToArray()), result.ResidualNorm, 1e-9);
    }

    [Fact]
    public void Solve_IndefiniteOperator_ReportsBreakdown()
    {
        double[,] a = { { 1, 0 }, { 0, -2 } };
        var x = new double[2];
        var result = ConjugateGradient.Solve(new DenseOperator(a), [1.0, 1.0], x, new ConjugateGradientWorkspace<double>(2));
        Assert.Equal(ConjugateGradientTermination.Breakdown, result.Termination);
        Assert.False(result.Converged);
        Assert.Equal(1, result.Iterations);

        LinearMap<double> nanPreconditioner = (s, d) => d.Fill(double.NaN);
        result = ConjugateGradient.Solve<double>((s, d) => s.CopyTo(d), [1.0, 1.0], x, new ConjugateGradientWorkspace<double>(2), null, nanPreconditioner);
        Assert.Equal(ConjugateGradientTermination.Breakdown, result.Termination);
    }

    [Fact]
    public void Solve_InvalidInput_Throws()
    {
        var op = new DenseOperator(new double[,] { { 2, 0 }, { 0, 3 } });
        var ws = new ConjugateGradientWorkspace<double>(2);
        Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve(op, [1.0, double.NaN], new double[2], ws));
        Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve(op, [1.0, 2.0, 3.0], new double[3], new ConjugateGradientWorkspace<double>(3)));
        Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], new double[3], ws));
        Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], new double[2], new ConjugateGradientWorkspace<double>(3)));
        Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], new double[2], ws, null, new DenseOperator(new double[3, 3])));
        Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], [double.NaN, 0], ws, new ConjugateGradientOptions { UseInitialGuess = true }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], new double[2], ws, new ConjugateGradientOptions { RelativeTolerance = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], new double[2], ws, new ConjugateGradientOptions { AbsoluteTolerance = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConjugateGradient.Solve(op, [1.0, 2.0], new double[2], ws, new ConjugateGradientOptions { MaxIterations = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConjugateGradientWorkspace<double>(-1));
    }

    [Fact]
    public void Solve_SteadyState_AllocatesNothing()
    {
        var rng = new Random(7);
        int p = 4, m = 5, n = p * m;
        var a = DenseOracle.RandomSpd(rng, n, 1);
        var op = new DenseOperator(a);
        var prec = new KroneckerOperator(DenseOracle.RandomSpd(rng, p, 1), DenseOracle.RandomSpd(rng, m, 1));
        LinearMap<double> map = op.Apply;
        var b = DenseOracle.RandomVector(rng, n);
        var x = new double[n];
        var ws = new ConjugateGradientWorkspace<double>(n);
        var options = new ConjugateGradientOptions { RelativeTolerance = 1e-10 };
        ConjugateGradient.Solve(op, b, x, ws, options, prec);
        ConjugateGradient.Solve(map, b, x, ws, options);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            ConjugateGradient.Solve(op, b, x, ws, options, prec);
            ConjugateGradient.Solve(map, b, x, ws, options);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static double[] SeedCg(double[,] a, double[] b, int iters, double tol)
    {
        int n = b.Length;
        var x = new double[n];
        var r = (double[])b.Clone();
        var p = (double[])r.Clone();
        double rsOld = r.Select(v => v * v).Sum();
        for (int it = 0; it < iters; it++)
        {
            var ap = DenseOracle.MatVec(a, p);
            double denom = Math.Max(1e-12, p.Select((v, i) => v * ap[i]).Sum());
            double alpha = rsOld / denom;
            for (int i = 0; i < n; i++)
            {
                x[i] += alpha * p[i];
                r[i] -= alpha * ap[i];
            }

            double rsNew = r.Select(v => v * v).Sum();
            if (Math.Sqrt(rsNew) < tol)
            {
                break;
            }

            double beta = rsNew / Math.Max(1e-12, rsOld);
            for (int i = 0; i < n; i++)
            {
                p[i] = r[i] + beta * p[i];
            }

            rsOld = rsNew;
        }

        return x;
    }

    /// <summary>Q diag(λ) Qᵀ with eigenvalues log-spaced from <paramref name="smallest"/> to 1 (Q from Gram–Schmidt).</summary>
    private static double[,] IllConditionedSpd(Random rng, int n, double smallest)
    {
        var q = DenseOracle.Random(rng, n, n);
        for (int j = 0; j < n; j++)
        {
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++)
                {
                    dot += q[i, j] * q[i, k];
                }

                for (int i = 0; i < n; i++)
                {
                    q[i, j] -= dot * q[i, k];
                }
            }

            double norm = 0;
            for (int i = 0; i < n; i++)
            {
                norm += q[i, j] * q[i, j];
            }

            norm = Math.Sqrt(norm);
            for (int i = 0; i < n; i++)
            {
                q[i, j] /= norm;
            }
        }

        var a = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            double lambda = Math.Pow(smallest, (double)k / (n - 1));
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    a[i, j] += lambda * q[i, k] * q[j, k];
                }
            }
        }

        return a;
    }

    private static double[,] Shift(double[,] a, double delta)
    {
        var s = (double[,])a.Clone();
        for (int i = 0; i < s.GetLength(0); i++)
        {
            s[i, i] += delta;
        }

        return s;
    }
}
