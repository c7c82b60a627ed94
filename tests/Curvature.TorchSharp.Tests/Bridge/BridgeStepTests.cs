using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Curvature.Backends;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.Bridge;

/// <summary>
/// What a bridged step does to the torch parameters: <c>Step</c> updates them in place (same tensors, same memory) and
/// exactly as the same optimizer does on plain arrays given the same observations and gradients; <c>Precondition</c>
/// followed by <c>torch.optim.SGD(lr = 1)</c> is the same as <c>Step</c> with learning rate 1 and no momentum. Bitwise,
/// over several steps, on models with every layer kind.
/// </summary>
public abstract class BridgeStepTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ScalarType Type = Torch.TypeOf<T>();

    public static TheoryData<string, string> Runs()
    {
        var data = new TheoryData<string, string>();
        foreach (var problem in new[] { "tokens", "images" })
        {
            foreach (var optimizer in new[] { "kfac", "ekfac", "adafisher" })
            {
                data.Add(problem, optimizer);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void Step_UpdatesTheTorchParametersInPlace_AsThePlainArrayOptimizerDoes(string problemName, string optimizerName)
    {
        var backend = TestBackends.Get("managed");
        using var problem = Problem(problemName);
        var bridged = problem.CreateModel();
        var plainModel = problem.CreateModel();
        using var optimizer = TorchCurvature.Attach(bridged, Create(backend, optimizerName, null));
        var parameters = bridged.named_parameters().ToList();
        var pointers = parameters.Select(p => Pointer(p.parameter)).ToList();

        // The same optimizer on copies of the parameters, fed by a capture of the twin model.
        var spec = optimizer.Model;
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        var plainParameters = plainModel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var p in spec.Parameters)
        {
            values.Add(p.Name, Torch.Values<T>(plainParameters[p.Name]), p.Shape);
            gradients.Add(p.Name, new T[p.Length], p.Shape);
        }

        using var plain = Create(backend, optimizerName, null)(spec, values, gradients);
        using var capture = new TorchLayerCapture<T>(plainModel, optimizer.ObservedLayers);
        var sink = new OptimizerSink(plain);
        for (int step = 0; step < 4; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = problem.Batch(step);

            bridged.zero_grad();
            Tensor output;
            using (optimizer.Record()) output = bridged.call(x);
            var result = optimizer.Step(nn.functional.cross_entropy(output, y), output, cancellationToken: TestContext.Current.CancellationToken);

            plainModel.zero_grad();
            Tensor plainOutput;
            using (capture.Record(retainOutputGradients: true)) plainOutput = plainModel.call(x);
            var loss = nn.functional.cross_entropy(plainOutput, y);
            loss.backward();
            foreach (var p in spec.Parameters)
            {
                Torch.Values<T>(plainParameters[p.Name].grad!).CopyTo(gradients.Get<T>(p.Name).Span);
            }

            capture.ObserveLossGradients(sink);
            var plainResult = plain.Step(double.CreateChecked(loss.item<T>()), cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(plainResult, result);
            foreach (var p in spec.Parameters)
            {
                values.Get<T>(p.Name).Span.CopyTo(MemoryMarshal.Cast<byte, T>(plainParameters[p.Name].bytes));
            }

            // In place: the module still holds the same tensors, in the same memory, with the plain optimizer's values.
            var now = bridged.named_parameters().ToList();
            for (int i = 0; i < parameters.Count; i++)
            {
                Assert.Same(parameters[i].parameter, now[i].parameter);
                Assert.Equal(pointers[i], Pointer(now[i].parameter));
                Assert.Equal(values.Get<T>(parameters[i].name).Span.ToArray(), Torch.Values<T>(now[i].parameter));
            }
        }

        Assert.Equal(4, optimizer.Optimizer.StepCount);
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void Precondition_ThenTorchSgdWithRateOne_EqualsStepWithRateOneAndNoMomentum(string problemName, string optimizerName)
    {
        var backend = TestBackends.Get("managed");
        using var problem = Problem(problemName);
        var stepped = problem.CreateModel();
        var preconditioned = problem.CreateModel();
        using var stepper = TorchCurvature.Attach(stepped, Create(backend, optimizerName, 1.0));
        using var preconditioner = TorchCurvature.Attach(preconditioned, Create(backend, optimizerName, 1.0));
        var sgd = torch.optim.SGD(preconditioned.parameters(), 1.0);
        for (int step = 0; step < 4; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = problem.Batch(step);

            stepped.zero_grad();
            Tensor output;
            using (stepper.Record()) output = stepped.call(x);
            stepper.Step(nn.functional.cross_entropy(output, y), output, cancellationToken: TestContext.Current.CancellationToken);

            sgd.zero_grad();
            using (preconditioner.Record()) output = preconditioned.call(x);
            preconditioner.Precondition(nn.functional.cross_entropy(output, y), output, TestContext.Current.CancellationToken);
            sgd.step();

            var expected = stepped.named_parameters().ToList();
            var actual = preconditioned.named_parameters().ToList();
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(Torch.Values<T>(expected[i].parameter), Torch.Values<T>(actual[i].parameter));
            }
        }
    }

    private static TorchProblems.Problem Problem(string name) => name == "tokens" ? TorchProblems.Tokens(Type) : TorchProblems.Images(Type);

    /// <summary>The optimizer with its defaults, or (<paramref name="rateOne"/>) learning rate 1, no momentum, fixed damping.</summary>
    private static Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<T>> Create(CurvatureBackend backend, string name, double? rateOne) => name switch
    {
        "kfac" => (spec, values, grads) => new KfacOptimizer<T>(backend, spec, values, grads,
            rateOne is null ? null : new KfacOptimizerOptions { LearningRate = 1, Momentum = 0, DampingAdaptation = DampingAdaptation.Fixed }),
        "ekfac" => (spec, values, grads) => new EkfacOptimizer<T>(backend, spec, values, grads,
            rateOne is null ? null : new EkfacOptimizerOptions { LearningRate = 1, Momentum = 0, DampingAdaptation = DampingAdaptation.Fixed }),
        _ => (spec, values, grads) => new AdaFisherOptimizer<T>(backend, spec, values, grads,
            rateOne is null ? null : new AdaFisherOptimizerOptions { LearningRate = 1 }),
    };

    private static unsafe nint Pointer(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>Observes each captured layer in a plain-array optimizer (a multi-axis LayerNorm's axes taken as one).</summary>
    private sealed class OptimizerSink(CurvatureOptimizer<T> optimizer) : ILayerObserver<T>
    {
        public void Observe(string layerName, ReadOnlySpan<T> a, ReadOnlySpan<int> aShape, ReadOnlySpan<T> g, ReadOnlySpan<int> gShape)
        {
            var layer = optimizer.Model.Layers[optimizer.Model.LayerIndex(layerName)];
            if (layer.Kind == LayerKind.LayerNorm && aShape[^1] != layer.OutputSize)
            {
                int[] a2 = [aShape[0], layer.OutputSize], g2 = [gShape[0], gShape[1], layer.OutputSize];
                Assert.Equal(aShape.ToArray().Aggregate(1, (p, d) => p * d), a2[0] * a2[1]);
                optimizer.Observe(layerName, a, a2, g, g2);
                return;
            }

            optimizer.Observe(layerName, a, aShape, g, gShape);
        }
    }
}

public sealed class FloatBridgeStepTests : BridgeStepTests<float>;

public sealed class DoubleBridgeStepTests : BridgeStepTests<double>;
