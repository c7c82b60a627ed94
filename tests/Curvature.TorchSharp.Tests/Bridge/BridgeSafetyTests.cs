using System.Numerics;
using System.Runtime.InteropServices;
using Curvature.Backends.Managed;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Modules = global::TorchSharp.Modules;

namespace Curvature.TorchSharp.Tests.Bridge;

/// <summary>
/// The bridge never writes through a binding that no longer describes the module (replaced data, <c>module.to</c>, a
/// replaced parameter), rejects bad calls with clear errors and nothing changed, handles <c>zero_grad</c> with
/// <c>set_to_none</c> and parameters without a gradient, and observes only on the optimizer's statistics steps.
/// </summary>
public abstract class BridgeSafetyTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ScalarType Type = Torch.TypeOf<T>();

    [Fact]
    public void ReplacedParameterData_IsRefusedWithAClearError_AndNothingIsWritten()
    {
        var (model, first) = Mlp();
        using var optimizer = Attach(model);
        TrainStep(model, optimizer, 0);
        var before = Snapshot(model);

        // Replace the data of one parameter, keeping a handle on its old memory.
        using var old = first.weight!.detach();
        var oldValues = Torch.Values<T>(old);
        using var replacement = randn(first.weight.shape, Type);
        using (no_grad())
        {
            first.weight.set_(replacement);
        }

        var replacementValues = Torch.Values<T>(replacement);
        model.zero_grad();
        var e = Assert.Throws<InvalidOperationException>(() => TrainStep(model, optimizer, 1));
        Assert.Contains("'0.weight'", e.Message);
        Assert.Contains("was replaced", e.Message);

        Assert.Equal(oldValues, Torch.Values<T>(old));
        Assert.Equal(replacementValues, Torch.Values<T>(first.weight));
        foreach (var (name, values) in before.Where(p => p.Key != "0.weight"))
        {
            Assert.Equal(values, Torch.Values<T>(Parameter(model, name)));
        }

        Assert.Null(first.weight.grad);
        Assert.Equal(1, optimizer.Optimizer.StepCount);

        // The optimizer's own step cannot reach the old memory either.
        Assert.Throws<InvalidOperationException>(() => optimizer.Optimizer.Step(1.0, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(oldValues, Torch.Values<T>(old));
        Assert.Equal(replacementValues, Torch.Values<T>(first.weight));

        // Attached again, it trains the new data.
        using var again = Attach(model);
        TrainStep(model, again, 1);
        Assert.NotEqual(replacementValues, Torch.Values<T>(first.weight));
    }

    [Fact]
    public void ModuleTo_ReplacesEveryParameter_AndIsRefused()
    {
        var (model, _) = Mlp();
        using var optimizer = Attach(model);
        TrainStep(model, optimizer, 0);
        model.to(typeof(T) == typeof(float) ? ScalarType.Float64 : ScalarType.Float32);
        var before = model.named_parameters().ToDictionary(p => p.name, p => Torch.Values<double>(p.parameter.to(ScalarType.Float64)));

        var e = Assert.Throws<InvalidOperationException>(() => optimizer.Record());
        Assert.Contains("'0.weight'", e.Message);
        Assert.Contains("module.to", e.Message);
        Assert.Equal(1, optimizer.Optimizer.StepCount);
        foreach (var (name, values) in before)
        {
            Assert.Equal(values, Torch.Values<double>(Parameter(model, name).to(ScalarType.Float64)));
        }
    }

    [Fact]
    public void AnAssignedParameter_IsRefused()
    {
        var (model, first) = Mlp();
        using var optimizer = Attach(model);
        first.bias = new Modules.Parameter(zeros(3, Type));
        var e = Assert.Throws<InvalidOperationException>(() => TrainStep(model, optimizer, 0));
        Assert.Contains("'0.bias'", e.Message);
        Assert.Equal(0, optimizer.Optimizer.StepCount);
        Assert.All(Torch.Values<T>(first.bias), v => Assert.Equal(T.Zero, v));
    }

    [Fact]
    public void ZeroGradSetToNone_AndParametersWithoutGradients_AreHandled()
    {
        var toNone = WithUnused();
        var toZero = WithUnused();
        using var a = Attach(toNone);
        using var b = Attach(toZero);
        for (int step = 0; step < 3; step++)
        {
            toNone.zero_grad();
            Assert.All(toNone.parameters(), p => Assert.Null(p.grad));
            TrainStep(toNone, a, step, zeroGrad: false);
            toZero.zero_grad(set_to_none: false);
            TrainStep(toZero, b, step, zeroGrad: false);
            Assert.Null(Parameter(toNone, "unused.weight").grad);
            var expected = Snapshot(toNone);
            foreach (var (name, values) in Snapshot(toZero))
            {
                Assert.Equal(expected[name], values);
            }
        }

        // Precondition writes a gradient for every parameter, creating the missing ones (zero here: no gradient, no decay).
        toNone.zero_grad();
        using var scope = NewDisposeScope();
        var (x, y) = Batch(3);
        Tensor output;
        using (a.Record()) output = toNone.call(x);
        a.Precondition(nn.functional.cross_entropy(output, y), output, TestContext.Current.CancellationToken);
        var unused = Parameter(toNone, "unused.weight").grad;
        Assert.NotNull(unused);
        Assert.All(Torch.Values<T>(unused), v => Assert.Equal(T.Zero, v));
        Assert.All(toNone.parameters(), p => Assert.NotNull(p.grad));
    }

    [Fact]
    public void AStepWithoutARecordedForwardPass_IsRefused_OnStatisticsStepsOnly()
    {
        var (model, _) = Mlp();
        using var optimizer = TorchCurvature.Attach(model, (spec, values, grads) =>
            new KfacOptimizer<T>(new ManagedBackend(), spec, values, grads, new KfacOptimizerOptions { StatisticsUpdatePeriod = 2 }));
        var before = Snapshot(model);
        using (var scope = NewDisposeScope())
        {
            var (x, y) = Batch(0);
            var output = model.call(x);
            var e = Assert.Throws<InvalidOperationException>(() => optimizer.Step(nn.functional.cross_entropy(output, y), output, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains("Record()", e.Message);
        }

        Assert.Equal(0, optimizer.Optimizer.StepCount);
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        foreach (var (name, values) in before)
        {
            Assert.Equal(values, Torch.Values<T>(Parameter(model, name)));
        }

        Assert.True(TrainStep(model, optimizer, 0).StatisticsUpdated);
        for (int step = 1; step < 4; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(step);
            model.zero_grad();
            Tensor output;
            if (step % 2 == 1)
            {
                // No statistics this step: nothing is captured, and the forward pass need not be recorded.
                Assert.False(optimizer.Optimizer.NeedsObservations);
                var recording = optimizer.Record();
                Assert.Equal(default, recording);
                output = model.call(x);
            }
            else
            {
                using (optimizer.Record()) output = model.call(x);
            }

            var result = optimizer.Step(nn.functional.cross_entropy(output, y), output, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(step % 2 == 0, result.StatisticsUpdated);
        }
    }

    [Fact]
    public void BadLossesAndOutputs_AreRejected_BeforeAnythingChanges()
    {
        var (model, _) = Mlp();
        using var optimizer = Attach(model);
        var before = Snapshot(model);
        using var scope = NewDisposeScope();
        var (x, y) = Batch(0);
        Tensor output;
        using (optimizer.Record()) output = model.call(x);
        var losses = nn.functional.cross_entropy(output, y, reduction: nn.Reduction.None);
        Assert.Contains("scalar", Assert.Throws<ArgumentException>(() => optimizer.Step(losses, output, cancellationToken: TestContext.Current.CancellationToken)).Message);
        var other = losses.mean().to(typeof(T) == typeof(float) ? ScalarType.Float64 : ScalarType.Float32);
        Assert.Throws<ArgumentException>(() => optimizer.Step(other, output, cancellationToken: TestContext.Current.CancellationToken));
        var detached = losses.mean().detach();
        Assert.Contains("require gradients", Assert.Throws<ArgumentException>(() => optimizer.Step(detached, output, cancellationToken: TestContext.Current.CancellationToken)).Message);
        Assert.Equal(0, optimizer.Optimizer.StepCount);
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        foreach (var (name, values) in before)
        {
            Assert.Equal(values, Torch.Values<T>(Parameter(model, name)));
        }

        // The same recording still steps.
        Assert.True(optimizer.Step(losses.mean(), output, cancellationToken: TestContext.Current.CancellationToken).StatisticsUpdated);
    }

    [Fact]
    public void AnOutputWithOtherLossTermsThanTheOptimizerIsSetTo_IsRejected()
    {
        manual_seed(31);
        var model = TorchProblems.Initialize(nn.Sequential(("0", nn.Linear(3, 4)), ("1", nn.Tanh()), ("2", nn.Linear(4, 2))), Type, 31);
        using var optimizer = TorchCurvature.Attach(model, (spec, values, grads) => new KfacOptimizer<T>(new ManagedBackend(), spec, values, grads),
            new TorchCurvatureOptions { Fisher = TorchFisher.Type2(LossFunction.MeanSquaredError) });
        using var scope = NewDisposeScope();
        var x = randn([5, 3, 3], Type);
        var y = randn([5, 3, 2], Type);
        Tensor output;
        using (optimizer.Record()) output = model.call(x);
        var e = Assert.Throws<ArgumentException>(() => optimizer.Step(nn.functional.mse_loss(output, y), output, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("LossTermsPerExample", e.Message);
        Assert.Equal(0, optimizer.Optimizer.StepCount);
    }

    [Fact]
    public void ANonFiniteObservation_IsRejected_WithParametersAndOptimizerUnchanged()
    {
        var (model, _) = Mlp();
        using var optimizer = Attach(model);
        TrainStep(model, optimizer, 0);
        var before = Snapshot(model);
        var statistics = optimizer.Optimizer.Statistics.ToArray();
        using var scope = NewDisposeScope();
        var (x, y) = Batch(1);
        x = x.clone();
        x[0, 0] = tensor(double.PositiveInfinity, Type);
        model.zero_grad();
        Tensor output;
        using (optimizer.Record()) output = model.call(x);
        Assert.Throws<ArgumentException>(() => optimizer.Step(nn.functional.cross_entropy(output, y), output, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(1, optimizer.Optimizer.StepCount);
        Assert.Equal(statistics, optimizer.Optimizer.Statistics.ToArray());
        foreach (var (name, values) in before)
        {
            Assert.Equal(values, Torch.Values<T>(Parameter(model, name)));
        }
    }

    [Fact]
    public void AnOptimizerForAnotherModel_IsRefused_AndDisposeReleasesEverything()
    {
        var (model, _) = Mlp();
        var e = Assert.Throws<ArgumentException>(() => TorchCurvature.Attach(model, (spec, values, grads) =>
            new KfacOptimizer<T>(new ManagedBackend(), new ModelSpec(spec.Layers), values, grads)));
        Assert.Contains("another model", e.Message);
        Assert.Throws<NotSupportedException>(() => TorchCurvature.Attach<Half>(model, (spec, values, grads) => null!));

        var optimizer = Attach(model);
        TrainStep(model, optimizer, 0);
        optimizer.Dispose();
        optimizer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => optimizer.Record());
        Assert.Throws<ObjectDisposedException>(() => optimizer.Optimizer.Step(1.0, cancellationToken: TestContext.Current.CancellationToken));

        // The module trains on without hooks.
        using var scope = NewDisposeScope();
        var (x, y) = Batch(1);
        nn.functional.cross_entropy(model.call(x), y).backward();
        Assert.All(model.parameters(), p => Assert.NotNull(p.grad));
    }

    private static TorchCurvatureOptimizer<T> Attach(nn.Module model) =>
        TorchCurvature.Attach(model, (spec, values, grads) => new KfacOptimizer<T>(new ManagedBackend(), spec, values, grads));

    private static (nn.Module<Tensor, Tensor> Model, Modules.Linear First) Mlp()
    {
        var first = nn.Linear(4, 3);
        var model = TorchProblems.Initialize(nn.Sequential(("0", first), ("1", nn.Tanh()), ("2", nn.Linear(3, 2))), Type, 30);
        return (model, first);
    }

    private static nn.Module<Tensor, Tensor> WithUnused() =>
        TorchProblems.Initialize(nn.Sequential(("0", nn.Linear(4, 3)), ("unused", new Unused()), ("1", nn.Tanh()), ("2", nn.Linear(3, 2))), Type, 32);

    private static (Tensor X, Tensor Y) Batch(int step)
    {
        var generator = new Generator((ulong)(40 + step));
        return (randn([8, 4], Type, generator: generator), randint(0, 2, [8], generator: generator));
    }

    private static StepResult TrainStep(nn.Module<Tensor, Tensor> model, TorchCurvatureOptimizer<T> optimizer, int step, bool zeroGrad = true)
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(step);
        if (zeroGrad)
        {
            model.zero_grad();
        }

        Tensor output;
        using (optimizer.Record()) output = model.call(x);
        return optimizer.Step(nn.functional.cross_entropy(output, y), output, cancellationToken: TestContext.Current.CancellationToken);
    }

    private static Dictionary<string, T[]> Snapshot(nn.Module model) => model.named_parameters().ToDictionary(p => p.name, p => Torch.Values<T>(p.parameter));

    private static Modules.Parameter Parameter(nn.Module model, string name) => model.named_parameters().Single(p => p.name == name).parameter;

    /// <summary>Holds a trainable parameter its forward pass does not use (it never gets a gradient).</summary>
    private sealed class Unused : nn.Module<Tensor, Tensor>
    {
        private readonly Modules.Parameter weight;

        public Unused()
            : base(nameof(Unused))
        {
            weight = nn.Parameter(ones(3));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => input.alias();
    }
}

public sealed class FloatBridgeSafetyTests : BridgeSafetyTests<float>;

public sealed class DoubleBridgeSafetyTests : BridgeSafetyTests<double>;
