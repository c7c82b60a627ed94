using Curvature.Operators;
using Curvature.Solvers;
using Curvature.Tests.BranchFactored;
using Xunit;

namespace Curvature.Tests.Cancellation;

/// <summary>Conjugate gradient: the token is checked before every application of A.</summary>
public sealed class ConjugateGradientCancellationTests
{
    [Fact]
    public void Solve_CancelledByTheThirdProduct_StopsThere_AndTheWorkspaceKeepsNoState()
    {
        const int n = 12;
        var rng = new Random(21);
        var a = DenseOracle.RandomSpd(rng, n, 0.5);
        var b = DenseOracle.RandomVector(rng, n);
        using var cts = new CancellationTokenSource();
        var op = new CountingOperator(a, cancelAt: 3, cts);
        var workspace = new ConjugateGradientWorkspace<double>(n);
        var x = new double[n];

        Assert.Throws<OperationCanceledException>(() => ConjugateGradient.Solve(op, b, x, workspace, cancellationToken: cts.Token));
        Assert.Equal(3, op.Applications);

        // A later solve with the same workspace gives exactly what a fresh one gives.
        var xReused = new double[n];
        var xFresh = new double[n];
        var reused = ConjugateGradient.Solve(new CountingOperator(a), b, xReused, workspace, cancellationToken: TestContext.Current.CancellationToken);
        var fresh = ConjugateGradient.Solve(new CountingOperator(a), b, xFresh, new ConjugateGradientWorkspace<double>(n), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(reused.Converged);
        Assert.Equal(fresh, reused);
        Assert.Equal(xFresh, xReused);
    }

    [Fact]
    public void Solve_WithCancelledToken_AppliesNothing_AndLeavesTheSolutionUntouched()
    {
        const int n = 5;
        var rng = new Random(3);
        var a = DenseOracle.RandomSpd(rng, n, 0.5);
        var b = DenseOracle.RandomVector(rng, n);
        var cancelled = new CancellationToken(canceled: true);
        var guess = new double[] { 1, 2, 3, 4, 5 };
        var x = (double[])guess.Clone();
        var op = new CountingOperator(a);
        var workspace = new ConjugateGradientWorkspace<double>(n);

        Assert.Throws<OperationCanceledException>(() => ConjugateGradient.Solve(op, b, x, workspace, new ConjugateGradientOptions { UseInitialGuess = true }, cancellationToken: cancelled));
        Assert.Throws<OperationCanceledException>(() => ConjugateGradient.Solve(op, b, x, workspace, cancellationToken: cancelled));
        Assert.Throws<OperationCanceledException>(() => ConjugateGradient.Solve<double>(op.Apply, b, x, workspace, cancellationToken: cancelled));
        Assert.Throws<OperationCanceledException>(() => ConjugateGradient.Solve<double>(op.Apply, b, x, workspace, null, (ILinearOperator<double>?)null, cancelled));
        Assert.Equal(0, op.Applications);
        Assert.Equal(guess, x);
    }

    [Fact]
    public void Solve_DelegateForm_IsCancelledBetweenProducts()
    {
        const int n = 10;
        var rng = new Random(8);
        var a = DenseOracle.RandomSpd(rng, n, 0.5);
        var b = DenseOracle.RandomVector(rng, n);
        using var cts = new CancellationTokenSource();
        var op = new CountingOperator(a, cancelAt: 2, cts);
        Assert.Throws<OperationCanceledException>(() => ConjugateGradient.Solve<double>(op.Apply, b, new double[n], new ConjugateGradientWorkspace<double>(n), cancellationToken: cts.Token));
        Assert.Equal(2, op.Applications);
    }

    /// <summary>Dense A; cancels <paramref name="cts"/> during its <paramref name="cancelAt"/>-th application.</summary>
    private sealed class CountingOperator(double[,] a, int cancelAt = 0, CancellationTokenSource? cts = null) : ILinearOperator<double>
    {
        public int Applications { get; private set; }

        public int Dimension => a.GetLength(0);

        public void Apply(ReadOnlySpan<double> source, Span<double> destination)
        {
            Applications++;
            if (Applications == cancelAt)
            {
                cts!.Cancel();
            }

            for (int i = 0; i < Dimension; i++)
            {
                double s = 0;
                for (int j = 0; j < Dimension; j++)
                {
                    s += a[i, j] * source[j];
                }

                destination[i] = s;
            }
        }
    }
}
