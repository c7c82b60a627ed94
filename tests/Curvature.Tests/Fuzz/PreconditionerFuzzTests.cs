using CommunityToolkit.HighPerformance;
using CsCheck;
using Curvature.Backends;
using Curvature.BlockFisher;
using Curvature.BranchFactored;
using Curvature.Operators;
using Curvature.Solvers;
using Xunit;
using static Curvature.Tests.Fuzz.FuzzKit;

namespace Curvature.Tests.Fuzz;

/// <summary>
/// The block-diagonal Fisher, the branch-factored preconditioner and conjugate gradient under hostile call sequences:
/// every backend accepts and rejects the same calls, a rejected call changes nothing, nothing non-finite is committed or
/// returned for finite input, Save→Load is the identity, and corrupted checkpoints are rejected cheaply.
/// </summary>
public class PreconditionerFuzzTests
{
    /// <summary>One call: what (0 update, 1 per-example update, 2 apply, 3 save/load, 4 clear), rows, value kind, wrong length, data seed.</summary>
    public sealed record Call(int What, int Rows, ValueKind Kind, bool WrongLength, int Seed);

    private static readonly Gen<Call> Calls =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 4], Gen.Enum<ValueKind>(), Gen.Int[0, 9].Select(i => i == 0), Gen.Int)
            .Select((w, r, k, wrong, s) => new Call(w, r, k, wrong, s));

    [Fact]
    public void BlockFisher_HostileCallSequences()
    {
        var backends = AllBackends();
        var gen = Gen.Select(Gen.Int[1, 12], Gen.Int[1, 5], Gen.Int[0, 3], Gen.Double[0, 0.99], Gen.OneOf(1e-8, 1e-3, 1.0), Calls.Array[1, 8]);
        Fuzz.Check(gen, t =>
        {
            var (length, blockSize, maxBlocks, decay, damping, calls) = t;
            var options = new BlockFisherOptions { BlockSize = blockSize, MaxBlocks = maxBlocks, Decay = decay, Damping = damping };
            var fishers = backends.Select(b => new BlockDiagonalFisher<double>(b, length, options)).ToArray();
            foreach (var call in calls)
            {
                var rng = new Random(call.Seed);
                int n = call.WrongLength ? length + 1 : length;
                double[] data = Values<double>(rng, Math.Max(1, call.Rows) * n, call.Kind);
                var outcomes = new string?[backends.Length];
                for (int i = 0; i < backends.Length; i++)
                {
                    var f = fishers[i];
                    byte[] before = Saved(f.Save);
                    var result = new double[length];
                    outcomes[i] = Outcome(() =>
                    {
                        switch (call.What)
                        {
                            case 0: f.Update(data.AsSpan(0, n)); break;
                            case 1: f.UpdatePerExample(new ReadOnlySpan2D<double>(data, call.Rows, n)); break;
                            case 2: f.Apply(data.AsSpan(0, n), result); break;
                            case 3:
                                var copy = new BlockDiagonalFisher<double>(backends[i], length, options);
                                copy.Load(new MemoryStream(before));
                                Assert.Equal(before, Saved(copy.Save));
                                break;
                            default: f.Clear(); break;
                        }
                    });
                    byte[] after = Saved(f.Save);
                    if (outcomes[i] is not null || call.What is 2 or 3)
                    {
                        Assert.True(before.AsSpan().SequenceEqual(after), $"{backends[i].Name}: '{outcomes[i] ?? "apply"}' changed the state on {call}");
                    }

                    // Everything committed is finite (Load re-checks it), and Apply returns finite values for finite input.
                    new BlockDiagonalFisher<double>(backends[i], length, options).Load(new MemoryStream(after));
                    if (outcomes[i] is null && call.What == 2)
                    {
                        Assert.True(HostileValues.AllFinite<double>(result), $"{backends[i].Name}: Apply returned non-finite values on {call}");
                    }
                }

                if (DisagreeOnlyAtTheRoundingLimit(outcomes, call.Kind))
                {
                    return;
                }

                SameOutcome(outcomes, backends, call);
            }
        });
    }

    /// <summary>One branch-factored step: parameter count, samples K, state dimension D, value kinds, data seed.</summary>
    public sealed record Step(int Parameters, int Samples, int States, ValueKind ParameterKind, ValueKind BranchKind, bool WithBranches, int Seed);

    private static readonly Gen<Step> Steps =
        Gen.Select(Gen.Int[0, 8], Gen.Int[0, 6], Gen.Int[0, 5], Gen.Enum<ValueKind>(), Gen.Enum<ValueKind>(), Gen.Int[0, 5].Select(i => i > 0), Gen.Int)
            .Select((n, k, d, pk, bk, wb, s) => new Step(n, k, d, pk, bk, wb, s));

    [Fact]
    public void BranchFactored_HostileStepSequences()
    {
        var backends = AllBackends();
        var gen = Gen.Select(Gen.Enum<ProjectionMode>(), Gen.Int[1, 4], Gen.OneOf(1e-9, 1e-2, 10.0), Gen.OneOf<double?>(null, 0.5, 1e6), Steps.Array[1, 6]);
        Fuzz.Check(gen, t =>
        {
            var (mode, blocks, damping, clip, steps) = t;
            var options = new BranchFactoredOptions { Projection = mode, Blocks = blocks, Damping = damping, Clip = clip, Seed = 11 };
            var pres = backends.Select(b => new BranchFactoredPreconditioner<double>(options, backend: b)).ToArray();
            foreach (var step in steps)
            {
                var rng = new Random(step.Seed);
                double[] theta = Values<double>(rng, step.Parameters, step.ParameterKind);
                double[] gradient = Values<double>(rng, step.Parameters, step.ParameterKind);
                double[] branches = Values<double>(rng, step.Samples * step.States, step.BranchKind);
                var outcomes = new string?[backends.Length];
                for (int i = 0; i < backends.Length; i++)
                {
                    var p = pres[i];
                    byte[] before = Saved(p.Save);
                    var state = p.State;
                    var projection = p.LastProjection.ToArray();
                    var destination = new double[step.Parameters];
                    outcomes[i] = Outcome(() =>
                    {
                        if (step.WithBranches)
                        {
                            p.Step(theta, gradient, new ReadOnlySpan2D<double>(branches, step.Samples, step.States), destination);
                        }
                        else
                        {
                            p.Step(theta, gradient, destination);
                        }
                    });
                    if (outcomes[i] is not null)
                    {
                        Assert.True(before.AsSpan().SequenceEqual(Saved(p.Save)), $"{backends[i].Name}: rejected step changed the checkpoint on {step}");
                        Assert.Equal(state, p.State);
                        Assert.Equal(projection, p.LastProjection.ToArray());
                    }
                    else
                    {
                        Assert.True(HostileValues.AllFinite<double>(destination) || !HostileValues.AllFinite<double>(theta), $"{backends[i].Name}: non-finite parameters on {step}");
                        byte[] saved = Saved(p.Save);
                        var copy = new BranchFactoredPreconditioner<double>(options, backend: backends[i]);
                        copy.Load(new MemoryStream(saved));
                        Assert.Equal(saved, Saved(copy.Save));
                    }
                }

                if (DisagreeOnlyAtTheRoundingLimit(outcomes, step.ParameterKind) || DisagreeOnlyAtTheRoundingLimit(outcomes, step.BranchKind))
                {
                    return;
                }

                SameOutcome(outcomes, backends, step);
            }
        });
    }

    private sealed class DenseOperator(double[] a, int n) : ILinearOperator<double>
    {
        public int Dimension => n;

        public void Apply(ReadOnlySpan<double> source, Span<double> destination)
        {
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < n; j++)
                {
                    s += a[(i * n) + j] * source[j];
                }

                destination[i] = s;
            }
        }
    }

    [Fact]
    public void ConjugateGradient_HostileSystems()
    {
        var gen = Gen.Select(Gen.Int[0, 8], Gen.Enum<ValueKind>(), Gen.Bool, Gen.Bool, Gen.Bool, Gen.Int);
        Fuzz.Check(gen, t =>
        {
            var (n, kind, positiveDefinite, alias, initialGuess, seed) = t;
            var rng = new Random(seed);
            var x0 = Values<double>(rng, n * n, ValueKind.Normal);
            var a = new double[n * n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double s = positiveDefinite && i == j ? 1 : 0;
                    for (int p = 0; p < n; p++)
                    {
                        s += positiveDefinite ? x0[(i * n) + p] * x0[(j * n) + p] / n : 0;
                    }

                    a[(i * n) + j] = positiveDefinite ? s : x0[(i * n) + j] + x0[(j * n) + i];
                }
            }

            double[] b = Values<double>(rng, n, kind);
            double[] bCopy = (double[])b.Clone();
            double[] x = alias ? b : Values<double>(rng, n, ValueKind.Normal);
            double[] xBefore = (double[])x.Clone();
            var options = new ConjugateGradientOptions { UseInitialGuess = initialGuess, RelativeTolerance = 1e-10 };
            ConjugateGradientResult result = default;
            string? outcome = Outcome(() => result = ConjugateGradient.Solve(new DenseOperator(a, n), b, x, new ConjugateGradientWorkspace<double>(n), options));
            if (outcome is not null)
            {
                Assert.Equal(xBefore, x); // rejected before anything was written
                Assert.False(HostileValues.AllFinite<double>(bCopy) && (!initialGuess || HostileValues.AllFinite<double>(xBefore)), $"finite input rejected: {outcome}");
                return;
            }

            Assert.True(HostileValues.AllFinite<double>(x) || result.Termination == ConjugateGradientTermination.Breakdown, $"non-finite solution reported as {result.Termination}");
            if (result.Converged && positiveDefinite && kind is ValueKind.Normal or ValueKind.PositiveDefinite)
            {
                var r = new double[n];
                new DenseOperator(a, n).Apply(x, r);
                double norm = Math.Sqrt(bCopy.Sum(v => v * v));
                double residual = Math.Sqrt(r.Select((v, i) => (v - bCopy[i]) * (v - bCopy[i])).Sum());
                Assert.True(residual <= (1e-6 * norm) + 1e-12, $"converged, but ‖Ax − b‖ = {residual} (‖b‖ = {norm}, aliased: {alias})");
            }
        });
    }
}
