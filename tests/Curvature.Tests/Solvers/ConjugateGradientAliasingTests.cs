using Curvature.Operators;
using Curvature.Solvers;
using Xunit;

namespace Curvature.Tests.Solvers;

/// <summary>The solution may be the right-hand side's own memory: the solve then happens in place.</summary>
public sealed class ConjugateGradientAliasingTests
{
    private static readonly double[,] Matrix = { { 4, 1, 0 }, { 1, 3, 1 }, { 0, 1, 2 } };

    private sealed class Dense : ILinearOperator<double>
    {
        public int Dimension => 3;

        public void Apply(ReadOnlySpan<double> source, Span<double> destination)
        {
            for (int i = 0; i < 3; i++)
            {
                double s = 0;
                for (int j = 0; j < 3; j++)
                {
                    s += Matrix[i, j] * source[j];
                }

                destination[i] = s;
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Solve_SolutionAliasesRightHandSide_SolvesInPlace(bool useInitialGuess)
    {
        double[] b = [1, 2, 3];
        var separate = new double[3];
        var options = new ConjugateGradientOptions { UseInitialGuess = useInitialGuess, RelativeTolerance = 1e-14 };
        var expected = ConjugateGradient.Solve(new Dense(), b, separate, new ConjugateGradientWorkspace<double>(3), options);

        double[] inPlace = [1, 2, 3];
        var result = ConjugateGradient.Solve(new Dense(), inPlace, inPlace, new ConjugateGradientWorkspace<double>(3), options);

        Assert.Equal(ConjugateGradientTermination.Converged, result.Termination);
        Assert.True(result.Iterations > 0);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(separate[i], inPlace[i], 1e-12);
        }

        // A x = b holds for the in-place answer.
        var check = new double[3];
        new Dense().Apply(inPlace, check);
        Assert.Equal(b, check, (p, q) => Math.Abs(p - q) < 1e-10);
        Assert.Equal(expected.Termination, result.Termination);
    }

    [Fact]
    public void Solve_DelegateWithPartiallyOverlappingVectors_SolvesAsIfSeparate()
    {
        // x starts one element into b's buffer: neither equal nor disjoint.
        var buffer = new double[4] { 1, 2, 3, 0 };
        var b = buffer.AsSpan(0, 3).ToArray();
        var separate = new double[3];
        LinearMap<double> map = (s, d) => new Dense().Apply(s, d);
        ConjugateGradient.Solve(map, b, separate, new ConjugateGradientWorkspace<double>(3), new ConjugateGradientOptions { RelativeTolerance = 1e-14 });
        var result = ConjugateGradient.Solve(map, buffer.AsSpan(0, 3), buffer.AsSpan(1, 3), new ConjugateGradientWorkspace<double>(3), new ConjugateGradientOptions { RelativeTolerance = 1e-14 });
        Assert.Equal(ConjugateGradientTermination.Converged, result.Termination);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(separate[i], buffer[i + 1], 1e-12);
        }
    }
}
