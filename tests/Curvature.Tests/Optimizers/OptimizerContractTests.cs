using Curvature.Backends.Managed;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Tests.Training;
using Xunit;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// The optimizer layer's contract beyond the numbers: element types are checked at construction, a rejected or cancelled
/// step changes nothing, <c>ObserveAll</c> records all or nothing, statistics pass through the all-reduce hook before they
/// are read, <c>Precondition</c> rewrites only the gradients, metrics report rejections and inverse lag.
/// </summary>
public class OptimizerContractTests
{
    [Fact]
    public void ElementTypesOtherThanFloatAndDouble_AreRejectedAtConstruction()
    {
        var model = new ModelSpec([LayerSpec.Linear("fc", 2, 2)]);
        var values = new ParameterSet();
        var e = Assert.Throws<NotSupportedException>(() => new KfacOptimizer<Half>(new ManagedBackend(), model, values, values));
        Assert.Contains("Half", e.Message);
        Assert.Throws<NotSupportedException>(() => new EkfacOptimizer<Half>(new ManagedBackend(), model, values, values));
        Assert.Throws<NotSupportedException>(() => new AdaFisherOptimizer<Half>(new ManagedBackend(), model, values, values));
    }

    [Fact]
    public void MissingOrMisshapedParameters_AreRejectedAtConstruction()
    {
        var model = new ModelSpec([LayerSpec.Linear("fc", 3, 2)]);
        var values = new ParameterSet();
        values.Add("fc.weight", new double[6], 2, 3);
        var grads = new ParameterSet();
        grads.Add("fc.weight", new double[6], 2, 3);
        Assert.Contains("fc.bias", Assert.Throws<ArgumentException>(() => new KfacOptimizer<double>(new ManagedBackend(), model, values, grads)).Message);
        values.Add("fc.bias", new double[2], 2);
        grads.Add("fc.bias", new double[3], 3);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => new KfacOptimizer<double>(new ManagedBackend(), model, values, grads)).Message);
    }

    public static TheoryData<string> Rejections => new() { "nan-gradient", "missing-observation", "nan-statistics", "cancelled", "nan-loss" };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void RejectedOrCancelledStep_LeavesEveryPieceOfStateUnchanged(string how)
    {
        foreach (var kind in new[] { "kfac", "ekfac", "adafisher" })
        {
            var (net, optimizer) = Trained(kind, steps: 3);
            using (optimizer)
            {
                var problem = StandardProblems.Create<double>(StandardProblems.MlpClassifier);
                double loss = net.LossAndGradients(problem.GetBatch(3));
                net.Observe(optimizer);
                var before = Snapshot(net, optimizer);
                using var cts = new CancellationTokenSource();
                var gradient = net.Gradients.Get<double>("2.bias").Span;
                switch (how)
                {
                    case "nan-gradient":
                        gradient[1] = double.NaN;
                        Assert.Equal(StepRejectionReason.NonFiniteGradient, Assert.Throws<StepRejectedException>(() => optimizer.Step(loss)).Reason);
                        break;
                    case "missing-observation":
                        optimizer.Reset();
                        before = Snapshot(net, optimizer);
                        Assert.Equal(StepRejectionReason.MissingStatistics, Assert.Throws<StepRejectedException>(() => optimizer.Step(loss)).Reason);
                        break;
                    case "nan-statistics":
                        optimizer.StatisticsAllReduce = new PoisonReduce();
                        Assert.Equal(StepRejectionReason.NonFiniteStatistics, Assert.Throws<StepRejectedException>(() => optimizer.Step(loss)).Reason);
                        optimizer.StatisticsAllReduce = null;
                        break;
                    case "cancelled":
                        optimizer.StatisticsAllReduce = new CancelInReduce(cts);
                        Assert.ThrowsAny<OperationCanceledException>(() => optimizer.Step(loss, null, cts.Token));
                        optimizer.StatisticsAllReduce = null;
                        break;
                    default:
                        if (kind == "adafisher")
                        {
                            continue; // fixed damping: the loss is not needed
                        }

                        Assert.Equal(StepRejectionReason.NonFiniteLoss, Assert.Throws<StepRejectedException>(() => optimizer.Step(double.NaN)).Reason);
                        break;
                }

                gradient[1] = before.Gradient[1];
                var after = Snapshot(net, optimizer);
                Assert.Equal(before.Values, after.Values);
                Assert.Equal(before.State, after.State);
            }
        }
    }

    [Fact]
    public void ObserveAll_ValidatesEveryObservationBeforeRecordingAny()
    {
        var model = new ModelSpec([LayerSpec.Linear("a", 2, 2), LayerSpec.Linear("b", 2, 2)]);
        var (values, grads) = Bind(model);
        using var kfac = new KfacOptimizer<double>(new ManagedBackend(), model, values, grads);
        var good = new LayerObservation<double>("a", new double[4], [2, 2], new double[4], [1, 2, 2]);
        var bad = new LayerObservation<double>("b", new double[4], [2, 2], new double[3], [1, 2, 2]);
        Assert.Throws<ArgumentException>(() => kfac.ObserveAll([good, bad]));
        Assert.False(kfac.Blocks[0].HasStagedObservation);
        Assert.Throws<ArgumentException>(() => kfac.ObserveAll([good, good]));
        Assert.True(kfac.ObserveAll([good, good with { Layer = "b" }]));
        Assert.True(kfac.Blocks[0].HasStagedObservation && kfac.Blocks[1].HasStagedObservation);
    }

    [Fact]
    public void AllReduceHook_SeesTheWholeStatisticsBuffer_BeforeTheInverseIsComputed()
    {
        // Doubling the statistics in the hook is the same as observing data scaled by √2.
        var problem = StandardProblems.Create<double>(StandardProblems.MlpClassifier);
        var netA = problem.CreateNetwork();
        var netB = problem.CreateNetwork();
        var options = new KfacOptimizerOptions { DampingAdaptation = DampingAdaptation.Fixed, KlClip = null };
        using var a = new KfacOptimizer<double>(new ManagedBackend(), netA.Spec, netA.Values, netA.Gradients, options);
        using var b = new KfacOptimizer<double>(new ManagedBackend(), netB.Spec, netB.Values, netB.Gradients, options);
        var hook = new ScaleReduce(2);
        a.StatisticsAllReduce = hook;
        var batch = problem.GetBatch(0);
        netA.LossAndGradients(batch);
        netA.Observe(a);
        a.Step(1);
        netB.LossAndGradients(batch);
        netB.Observe(b);
        b.Step(1);
        Assert.Equal(a.Statistics.Length, hook.LastLength);
        for (int i = 0; i < a.Statistics.Length; i++)
        {
            Assert.Equal(2 * b.Statistics[i], a.Statistics[i], 12);
        }

        Assert.NotEqual(netA.Values.Get<double>("0.weight").Span.ToArray(), netB.Values.Get<double>("0.weight").Span.ToArray());
    }

    [Fact]
    public void Precondition_RewritesTheGradientsOnly_WithTheStepsDirection()
    {
        var problem = StandardProblems.Create<double>(StandardProblems.MlpClassifier);
        var net = problem.CreateNetwork();
        var options = new KfacOptimizerOptions { KlClip = null, Momentum = 0, LearningRate = 1, DampingAdaptation = DampingAdaptation.Fixed };
        using var kfac = new KfacOptimizer<double>(new ManagedBackend(), net.Spec, net.Values, net.Gradients, options);
        var twin = problem.CreateNetwork();
        using var stepper = new KfacOptimizer<double>(new ManagedBackend(), twin.Spec, twin.Values, twin.Gradients, options);
        var batch = problem.GetBatch(0);
        net.LossAndGradients(batch);
        net.Observe(kfac);
        var valuesBefore = net.Values.Get<double>("0.weight").Span.ToArray();
        kfac.Precondition();
        Assert.Equal(valuesBefore, net.Values.Get<double>("0.weight").Span.ToArray());

        twin.LossAndGradients(batch);
        twin.Observe(stepper);
        var twinBefore = twin.Values.Get<double>("0.weight").Span.ToArray();
        stepper.Step(double.NaN);
        var moved = twin.Values.Get<double>("0.weight").Span.ToArray();
        var direction = net.Gradients.Get<double>("0.weight").Span.ToArray();
        for (int i = 0; i < moved.Length; i++)
        {
            Assert.Equal(-direction[i], moved[i] - twinBefore[i], 12);
        }
    }

    [Fact]
    public void Memory_CountsFactorsInversesAndWorkspaces()
    {
        var model = new ModelSpec([LayerSpec.Linear("fc", 4, 3)]);
        var (values, grads) = Bind(model);
        using var kfac = new KfacOptimizer<double>(new ManagedBackend(), model, values, grads);
        var m = kfac.Memory;

        // Running statistics G (3²) and A (5²), double-buffered and staged: 3 copies; the inverse front and back with
        // eigenvalue slots: 2 · (9 + 25 + 3 + 5).
        Assert.Equal(3 * (9 + 25) * 8, m.Statistics);
        Assert.Equal(2 * (9 + 25 + 3 + 5) * 8, m.Inverses);
        Assert.Equal(0, m.Eigenbases);
        Assert.True(m.Workspaces >= 6 * 15 * 8);
        Assert.Equal(m.Statistics + m.Inverses + m.Eigenbases + m.Workspaces, m.Total);
    }

    private static (TinyNetwork<double> Net, CurvatureOptimizer<double> Optimizer) Trained(string kind, int steps)
    {
        var problem = StandardProblems.Create<double>(StandardProblems.MlpClassifier);
        var net = problem.CreateNetwork();
        CurvatureOptimizer<double> optimizer = kind switch
        {
            "kfac" => new KfacOptimizer<double>(new ManagedBackend(), net.Spec, net.Values, net.Gradients),
            "ekfac" => new EkfacOptimizer<double>(new ManagedBackend(), net.Spec, net.Values, net.Gradients),
            _ => new AdaFisherOptimizer<double>(new ManagedBackend(), net.Spec, net.Values, net.Gradients),
        };
        for (int i = 0; i < steps; i++)
        {
            double loss = net.LossAndGradients(problem.GetBatch(i));
            net.Observe(optimizer);
            optimizer.Step(loss);
        }

        return (net, optimizer);
    }

    private sealed record Snapshotted(double[] Values, double[] Gradient, byte[] State);

    private static Snapshotted Snapshot(TinyNetwork<double> net, CurvatureOptimizer<double> optimizer)
    {
        var values = net.Values.OrderBy(p => p.Key, StringComparer.Ordinal).SelectMany(p => ((NamedTensor<double>)p.Value).Span.ToArray()).ToArray();
        var gradient = net.Gradients.Get<double>("2.bias").Span.ToArray();
        using var stream = new MemoryStream();
        optimizer.Save(stream);
        return new Snapshotted(values, gradient, stream.ToArray());
    }

    private static (ParameterSet Values, ParameterSet Gradients) Bind(ModelSpec model)
    {
        var values = new ParameterSet();
        var grads = new ParameterSet();
        foreach (var p in model.Parameters)
        {
            values.Add(p.Name, new double[p.Length], p.Shape);
            grads.Add(p.Name, new double[p.Length], p.Shape);
        }

        return (values, grads);
    }

    private sealed class PoisonReduce : IStatisticsAllReduce<double>
    {
        public void AllReduceMean(Span<double> statistics) => statistics[0] = double.NaN;
    }

    private sealed class CancelInReduce(CancellationTokenSource source) : IStatisticsAllReduce<double>
    {
        public void AllReduceMean(Span<double> statistics) => source.Cancel();
    }

    private sealed class ScaleReduce(double factor) : IStatisticsAllReduce<double>
    {
        public int LastLength { get; private set; }

        public void AllReduceMean(Span<double> statistics)
        {
            LastLength = statistics.Length;
            foreach (ref double v in statistics)
            {
                v *= factor;
            }
        }
    }
}
