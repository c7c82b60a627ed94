using CsCheck;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Backends;
using Curvature.BlockFisher;
using Curvature.BranchFactored;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Loss;
using Xunit;
using static Curvature.Tests.Fuzz.FuzzKit;

namespace Curvature.Tests.Fuzz;

/// <summary>
/// K-FAC and EKFAC builders and operators, AdaFisher, and every checkpoint reader under hostile input: same
/// accept/reject on every backend, rejected calls change nothing, nothing non-finite committed or returned for finite
/// input, Save→Load the identity, corrupted checkpoints rejected without large allocations.
/// </summary>
public class ModelFuzzTests
{
    /// <summary>One accumulation: layer (may be out of range), batch N, vectors V, wrong input/gradient width, kind, seed.</summary>
    public sealed record Batch(int Layer, int N, int V, int WrongInput, int WrongGradient, ValueKind Kind, int Seed);

    private static readonly Gen<Batch> Batches =
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, 4], Gen.Int[0, 2], Gen.Int[0, 9].Select(i => i == 0 ? 1 : 0), Gen.Int[0, 9].Select(i => i == 0 ? 1 : 0), Gen.Enum<ValueKind>(), Gen.Int)
            .Select((l, n, v, wi, wg, k, s) => new Batch(l, n, v, wi, wg, k, s));

    private static ModelSpec Model(int inA, int outA, int outB, bool bias, bool separate) =>
        new([LayerSpec.Linear("a", inA, outA, bias), LayerSpec.Linear("b", outA, outB, !bias)], separate);

    private static T[] Snapshot<T>(IEnumerable<T[]> storages) => [.. storages.SelectMany(s => s)];

    [Fact]
    public void Kfac_FactorBuilderAndOperator_HostileBatches()
    {
        var backends = AllBackends();
        var gen = Gen.Select(Gen.Int[1, 4], Gen.Int[1, 4], Gen.Int[1, 3], Gen.Bool, Gen.Bool, Gen.Enum<FisherType>(), Batches.Array[1, 5]);
        Fuzz.Check(gen, t =>
        {
            var (inA, outA, outB, bias, separate, fisher, batches) = t;
            var model = Model(inA, outA, outB, bias, separate);
            var options = new KfacOptions { NumData = 8, Fisher = fisher };
            var builders = backends.Select(b => new KfacFactorBuilder<double>(b, model, options)).ToArray();
            foreach (var batch in batches)
            {
                var rng = new Random(batch.Seed);
                int layer = batch.Layer;
                int din = layer < 2 ? model.Layers[layer].WeightInputSize : 1, dout = layer < 2 ? model.Layers[layer].OutputSize : 1;
                int[] inShape = [batch.N, din + batch.WrongInput];
                int[] gradShape = [batch.V, batch.N, dout + batch.WrongGradient];
                double[] input = Values<double>(rng, inShape[0] * inShape[1], batch.Kind);
                double[] grads = Values<double>(rng, gradShape[0] * gradShape[1] * gradShape[2], batch.Kind);
                var outcomes = new string?[backends.Length];
                for (int i = 0; i < backends.Length; i++)
                {
                    var builder = builders[i];
                    var before = Snapshot(builder.Blocks.SelectMany(b => new[] { b.InputStorage.ToArray(), b.GradientStorage.ToArray() }));
                    outcomes[i] = Outcome(() => builder.AccumulateLayer(layer, input, inShape, grads, gradShape));
                    var after = Snapshot(builder.Blocks.SelectMany(b => new[] { b.InputStorage.ToArray(), b.GradientStorage.ToArray() }));
                    if (outcomes[i] is not null)
                    {
                        Assert.True(before.AsSpan().SequenceEqual(after), $"{backends[i].Name}: rejected accumulation changed the factors ({batch})");
                    }

                    Assert.True(HostileValues.AllFinite<double>(after), $"{backends[i].Name}: non-finite factors committed ({outcomes[i] ?? "accepted"}, {batch})");
                }

                SameOutcome(outcomes, backends, batch);
            }

            // The operator over finite factors never returns NaN/∞ for a finite vector: a product that overflows is an error.
            var vector = Values<double>(new Random(1), model.Dimension, ValueKind.Normal);
            foreach (var (builder, backend) in builders.Zip(backends))
            {
                var result = new double[model.Dimension];
                if (Outcome(() => builder.ToOperator().Apply(vector, result)) is null)
                {
                    Assert.True(HostileValues.AllFinite<double>(result), $"{backend.Name}: K-FAC operator returned non-finite values");
                }
            }
        });
    }

    [Fact]
    public void Ekfac_BuilderOperatorAndCheckpoint_HostileBatches()
    {
        var backends = AllBackends();
        var gen = Gen.Select(Gen.Int[1, 4], Gen.Int[1, 4], Gen.Int[1, 3], Gen.Bool, Gen.Bool, Batches.Array[1, 4], Gen.Int[0, 3], Gen.Int);
        Fuzz.Check(gen, t =>
        {
            var (inA, outA, outB, bias, separate, batches, corruption, position) = t;
            var model = Model(inA, outA, outB, bias, separate);
            var options = new KfacOptions { NumData = 8 };
            var ekfacs = new EkfacBuilder<double>[backends.Length];
            for (int i = 0; i < backends.Length; i++)
            {
                var factors = new KfacFactorBuilder<double>(backends[i], model, options);
                var rng = new Random(5);
                factors.AccumulateLayer(0, Values<double>(rng, 3 * inA, ValueKind.Normal), [3, inA], Values<double>(rng, 3 * outA, ValueKind.Normal), [1, 3, outA]);
                ekfacs[i] = new EkfacBuilder<double>(backends[i], model, options);
                ekfacs[i].SetFactors(factors);
            }

            foreach (var batch in batches)
            {
                // EKFAC corrections square products of inputs and gradients: the overflow range is not fuzzed here.
                var kind = batch.Kind is ValueKind.Huge or ValueKind.Mixed ? ValueKind.Normal : batch.Kind;
                var rng = new Random(batch.Seed);
                int layer = batch.Layer;
                int din = layer < 2 ? model.Layers[layer].WeightInputSize : 1, dout = layer < 2 ? model.Layers[layer].OutputSize : 1;
                int[] inShape = [batch.N, din + batch.WrongInput];
                int[] gradShape = [batch.V, batch.N, dout + batch.WrongGradient];
                double[] input = Values<double>(rng, inShape[0] * inShape[1], kind);
                double[] grads = Values<double>(rng, gradShape[0] * gradShape[1] * gradShape[2], kind);
                var outcomes = new string?[backends.Length];
                for (int i = 0; i < backends.Length; i++)
                {
                    var op = ekfacs[i].ToOperator();
                    byte[] before = Saved(op.Save);
                    outcomes[i] = Outcome(() => ekfacs[i].AccumulateLayer(layer, input, inShape, grads, gradShape));
                    byte[] after = Saved(op.Save);
                    if (outcomes[i] is not null)
                    {
                        Assert.True(before.AsSpan().SequenceEqual(after), $"{backends[i].Name}: rejected EKFAC accumulation changed the state ({batch})");
                    }

                    // Save→Load is the identity, and the state is finite (Load checks).
                    var copy = new EkfacBuilder<double>(backends[i], model, options).ToOperator();
                    copy.Load(new MemoryStream(after));
                    Assert.True(after.AsSpan().SequenceEqual(Saved(copy.Save)), $"{backends[i].Name}: EKFAC Save→Load is not the identity");
                }

                SameOutcome(outcomes, backends, batch);
            }

            var target = new EkfacBuilder<double>(backends[0], model, options).ToOperator();
            byte[] saved = Saved(ekfacs[0].ToOperator().Save);
            LoadCorrupted(Corrupt(saved, corruption, position, position >> 3), target.Load, target.Save, $"EKFAC, corruption {corruption} at {position}");
        });
    }

    [Fact]
    public void Checkpoints_BlockFisherAndBranchFactored_CorruptedEveryWay()
    {
        var gen = Gen.Select(Gen.Int[1, 10], Gen.Int[1, 4], Gen.Int[0, 3], Gen.Int, Gen.Int[0, 3], Gen.Int[0, 8]);
        Fuzz.Check(gen, t =>
        {
            var (length, blockSize, corruption, position, maxBlocks, steps) = t;
            var backend = new Curvature.Backends.Managed.ManagedBackend();
            var options = new BlockFisherOptions { BlockSize = blockSize, MaxBlocks = maxBlocks };
            var rng = new Random(position);
            var source = new BlockDiagonalFisher<double>(backend, length, options);
            for (int s = 0; s < steps % 4; s++)
            {
                source.Update(Values<double>(rng, length, ValueKind.Normal));
            }

            var target = new BlockDiagonalFisher<double>(backend, length, options);
            target.Update(Values<double>(rng, length, ValueKind.Normal));
            LoadCorrupted(Corrupt(Saved(source.Save), corruption, position, position >> 3), target.Load, target.Save, $"block Fisher, corruption {corruption} at {position}");

            var bfOptions = new BranchFactoredOptions { Projection = (steps & 1) == 0 ? ProjectionMode.Fixed : ProjectionMode.FreshEachStep, Damping = 0.1 };
            var pre = new BranchFactoredPreconditioner<double>(bfOptions);
            for (int s = 0; s < 1 + (steps % 3); s++)
            {
                pre.Step(Values<double>(rng, length, ValueKind.Normal), Values<double>(rng, length, ValueKind.Normal), new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(Values<double>(rng, 6, ValueKind.Normal), 3, 2), new double[length]);
            }

            var other = new BranchFactoredPreconditioner<double>(bfOptions);
            other.Step(Values<double>(rng, length, ValueKind.Normal), Values<double>(rng, length, ValueKind.Normal), new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(Values<double>(rng, 6, ValueKind.Normal), 3, 2), new double[length]);
            LoadCorrupted(Corrupt(Saved(pre.Save), corruption, position, position >> 5), other.Load, other.Save, $"branch-factored, corruption {corruption} at {position}");
        });
    }

    /// <summary>One optimizer call: 0 observe, 1 step, 2 save/load round trip, 3 load a corrupted checkpoint; value kind; seed.</summary>
    public sealed record OptimizerCall(int What, ValueKind Kind, int N, int Seed);

    /// <summary>The optimizers under test: K-FAC, EKFAC, AdaFisher (principled), AdaFisher (official-compatible).</summary>
    public enum OptimizerKind
    {
        Kfac,
        Ekfac,
        AdaFisher,
        AdaFisherOfficial,
    }

    [Fact]
    public void Optimizers_ObserveStepSaveLoad_HostileSequences()
    {
        var backends = AllBackends();
        var calls = Gen.Select(Gen.Int[0, 3], Gen.Enum<ValueKind>(), Gen.Int[0, 3], Gen.Int).Select((w, k, n, s) => new OptimizerCall(w, k, n, s));
        var gen = Gen.Select(Gen.Int[1, 4], Gen.Int[1, 3], Gen.Int[1, 6], Gen.Enum<OptimizerKind>(), calls.Array[1, 8]);
        Fuzz.Check(gen, t =>
        {
            var (inF, outF, extra, kind, sequence) = t;
            var setups = backends.Select(b => Setup(b, kind, inF, outF, extra)).ToArray();
            try
            {
                foreach (var call in sequence)
                {
                    var outcomes = new string?[backends.Length];
                    for (int i = 0; i < backends.Length; i++)
                    {
                        var (opt, values, gradients) = setups[i];
                        var rng = new Random(call.Seed);
                        byte[] before = Saved(opt.Save);
                        double[][] valuesBefore = [.. values.Select(v => v.ToArray())];
                        outcomes[i] = Outcome(() =>
                        {
                            switch (call.What)
                            {
                                case 0:
                                    opt.Observe("fc", Values<double>(rng, call.N * inF, call.Kind), [call.N, inF], Values<double>(rng, call.N * outF, call.Kind), [1, call.N, outF]);
                                    break;
                                case 1:
                                    foreach (var g in gradients)
                                    {
                                        Values<double>(rng, g.Length, call.Kind).CopyTo(g, 0);
                                    }

                                    opt.Step(1.0);
                                    break;
                                case 2:
                                    var (copy, _, _) = Setup(backends[i], kind, inF, outF, extra);
                                    using (copy)
                                    {
                                        copy.Load(new MemoryStream(before));
                                        Assert.True(before.AsSpan().SequenceEqual(Saved(copy.Save)), $"{backends[i].Name}: {kind} Save→Load is not the identity");
                                    }

                                    break;
                                default:
                                    var (target, _, _) = Setup(backends[i], kind, inF, outF, extra);
                                    using (target)
                                    {
                                        target.Load(new MemoryStream(before));
                                        LoadCorrupted(Corrupt(before, call.Seed & 3, call.Seed >> 2, call.Seed >> 5), target.Load, target.Save, $"{kind} {call}");
                                    }

                                    break;
                            }
                        });
                        byte[] after = Saved(opt.Save);
                        if (outcomes[i] is not null)
                        {
                            Assert.True(before.AsSpan().SequenceEqual(after), $"{backends[i].Name}: rejected {kind} call changed the state ({outcomes[i]}, {call})");
                            for (int p = 0; p < values.Length; p++)
                            {
                                Assert.True(valuesBefore[p].AsSpan().SequenceEqual(values[p]), $"{backends[i].Name}: rejected call changed parameter {p} ({call})");
                            }
                        }

                        foreach (var v in values)
                        {
                            Assert.True(HostileValues.AllFinite<double>(v), $"{backends[i].Name}: non-finite parameter values after {outcomes[i] ?? "accepted"} {call}");
                        }

                        var (probe, _, _) = Setup(backends[i], kind, inF, outF, extra);
                        using (probe)
                        {
                            probe.Load(new MemoryStream(after)); // the committed state is loadable (finite and consistent)
                        }
                    }

                    SameOutcome(outcomes, backends, call);
                }
            }
            finally
            {
                foreach (var (opt, _, _) in setups)
                {
                    opt.Dispose();
                }
            }
        });
    }

    private static (CurvatureOptimizer<double> Optimizer, double[][] Values, double[][] Gradients) Setup(CurvatureBackend backend, OptimizerKind kind, int inF, int outF, int extra)
    {
        var rng = new Random(17);
        var model = new ModelSpec([LayerSpec.Linear("fc", inF, outF), LayerSpec.Parameter("extra", extra)]);
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        var v = model.Parameters.Select(p => Values<double>(rng, p.Length, ValueKind.Normal)).ToArray();
        var g = model.Parameters.Select(p => new double[p.Length]).ToArray();
        for (int i = 0; i < v.Length; i++)
        {
            values.Add(model.Parameters[i].Name, v[i], model.Parameters[i].Shape);
            gradients.Add(model.Parameters[i].Name, g[i], model.Parameters[i].Shape);
        }

        CurvatureOptimizer<double> opt = kind switch
        {
            OptimizerKind.Kfac => new KfacOptimizer<double>(backend, model, values, gradients, new KfacOptimizerOptions { InverseUpdatePeriod = 2 }),
            OptimizerKind.Ekfac => new EkfacOptimizer<double>(backend, model, values, gradients, new EkfacOptimizerOptions { EigenbasisUpdatePeriod = 2 }),
            OptimizerKind.AdaFisher => new AdaFisherOptimizer<double>(backend, model, values, gradients),
            _ => new AdaFisherOptimizer<double>(backend, model, values, gradients, AdaFisherOptimizerOptions.Official(tCov: 1, weightDecay: 1e-3)),
        };
        return (opt, v, g);
    }
}
