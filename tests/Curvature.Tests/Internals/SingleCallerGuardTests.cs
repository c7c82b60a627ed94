using CommunityToolkit.HighPerformance;
using Curvature.BlockFisher;
using Curvature.Backends.Managed;
using Curvature.BranchFactored;
using Curvature.Internals;
using Curvature.Operators;
using Curvature.Parameters;
using Curvature.Solvers;
using Xunit;

namespace Curvature.Tests.Internals;

/// <summary>A second thread entering a non-thread-safe instance in the middle of a call is told so, instead of corrupting it.</summary>
public class SingleCallerGuardTests
{
    [Fact]
    public void SecondThreadInsideACall_Throws_SameThreadMayReenter_AndTheGuardIsFreeAfterwards()
    {
        var guard = new SingleCallerGuard();
        var owner = new object();
        using (guard.Enter(owner))
        {
            using (guard.Enter(owner))
            {
                var e = Assert.Throws<InvalidOperationException>(() => OnAnotherThread(() => guard.Enter(owner)));
                Assert.Contains("not thread-safe", e.Message);
            }

            Assert.Throws<InvalidOperationException>(() => OnAnotherThread(() => guard.Enter(owner)));
        }

        // Free again: another thread may enter now.
        OnAnotherThread(() =>
        {
            using var scope = guard.Enter(owner);
            return 0;
        });
    }

    [Fact]
    public void ConjugateGradient_TwoSolvesSharingAWorkspace_SecondThrows()
    {
        var workspace = new ConjugateGradientWorkspace<double>(2);
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        LinearMap<double> blocking = (source, destination) =>
        {
            inside.Set();
            release.Wait();
            source.CopyTo(destination);
        };
        var first = Background(() => ConjugateGradient.Solve(blocking, [1.0, 2.0], new double[2], workspace));
        inside.Wait(TestContext.Current.CancellationToken);
        Assert.Throws<InvalidOperationException>(() => ConjugateGradient.Solve<double>((s, d) => s.CopyTo(d), [1.0, 1.0], new double[2], workspace));
        release.Set();
        Assert.True(first().Converged);

        // Afterwards the workspace serves the next solve.
        Assert.True(ConjugateGradient.Solve<double>((s, d) => s.CopyTo(d), [1.0, 1.0], new double[2], workspace).Converged);
    }

    [Fact]
    public void BranchFactored_StepWhileAnotherThreadIsInsideAStep_Throws_AndTheFirstStepCompletes()
    {
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        BranchGradientEstimator<double> estimator = (parameters, context, gradient) =>
        {
            inside.Set();
            release.Wait();
            gradient.Fill(0.5);
        };
        var pre = new BranchFactoredPreconditioner<double>(gradientEstimator: estimator);
        var parameters = new ParameterSet();
        parameters.Add("w", new double[] { 1, 2 }, 2);
        var first = Background(() => pre.Step(parameters, new BranchStepContext<double>()));
        inside.Wait(TestContext.Current.CancellationToken);
        Assert.Throws<InvalidOperationException>(() => pre.Step([1.0, 2.0], [0.5, 0.5], new double[2]));
        Assert.Throws<InvalidOperationException>(() => pre.Save(new MemoryStream()));
        release.Set();
        Assert.Equal(1, first().Steps);
    }

    [Fact]
    public void BlockFisher_ConcurrentHammering_EitherThrowsOrMatchesTheSerialResult()
    {
        // Two threads apply the same Fisher at once: with the guard, every call either throws InvalidOperationException
        // or returns the right answer; without it, the shared solve scratch would mix the two vectors.
        var fisher = new BlockDiagonalFisher<double>(new ManagedBackend(), 64, new BlockFisherOptions { BlockSize = 32 });
        var rng = new Random(3);
        for (int i = 0; i < 3; i++)
        {
            fisher.Update([.. Enumerable.Range(0, 64).Select(_ => rng.NextDouble() - 0.5)]);
        }

        double[] v1 = [.. Enumerable.Range(0, 64).Select(i => (double)i)], v2 = [.. Enumerable.Range(0, 64).Select(i => -3.0 * i)];
        var e1 = new double[64];
        var e2 = new double[64];
        fisher.Apply(v1, e1);
        fisher.Apply(v2, e2);
        int rejected = 0;
        Parallel.For(0, 2, worker =>
        {
            var result = new double[64];
            for (int i = 0; i < 2000; i++)
            {
                try
                {
                    fisher.Apply(worker == 0 ? v1 : v2, result);
                    Assert.Equal(worker == 0 ? e1 : e2, result);
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref rejected);
                }
            }
        });
        Assert.True(rejected <= 4000);
    }

    private static T OnAnotherThread<T>(Func<T> work) => Background(work)();

    /// <summary>Starts <paramref name="work"/> on a new thread; the returned function joins it and returns its result (or rethrows).</summary>
    private static Func<T> Background<T>(Func<T> work)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        return () =>
        {
            thread.Join();
            if (error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }

            return result;
        };
    }
}
