using System.Numerics;
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
/// Training runs through the bridge with each optimizer's default settings: a TorchSharp MLP and CNN, and two models with
/// every other layer kind (Embedding, a two-axis LayerNorm, a weight-shared Linear, a plain parameter; BatchNorm2d, a
/// grouped Conv2d, BatchNorm1d). The training loop is the bridge's per-step code only (record, loss, Step); the
/// training-set loss must end well below its start and every batch loss must stay finite.
/// </summary>
public abstract class BridgeTrainingTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ScalarType Type = Torch.TypeOf<T>();

    public static TheoryData<string, string> Runs()
    {
        var data = new TheoryData<string, string>();
        foreach (var problem in new[] { "mlp", "cnn", "tokens", "images" })
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
    public void DefaultSettings_DecreaseTheLoss(string problemName, string optimizerName)
    {
        var backend = TestBackends.Get("managed");
        using var problem = problemName switch
        {
            "mlp" => TorchProblems.Mlp(Type),
            "cnn" => TorchProblems.Cnn(Type),
            "tokens" => TorchProblems.Tokens(Type),
            _ => TorchProblems.Images(Type),
        };
        var model = problem.CreateModel();
        double initial = problem.Loss(model);
        var losses = new List<double>();
        using var optimizer = TorchCurvature.Attach(model, Create(backend, optimizerName));
        for (int step = 0; step < 40; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = problem.Batch(step);
            model.zero_grad();
            Tensor output;
            using (optimizer.Record()) output = model.call(x);
            var loss = nn.functional.cross_entropy(output, y);
            optimizer.Step(loss, output, cancellationToken: TestContext.Current.CancellationToken);
            losses.Add(double.CreateChecked(loss.item<T>()));
        }

        double final = problem.Loss(model);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(final < 0.75 * initial, $"{problem.Name}, {optimizerName}: training loss {initial:F4} → {final:F4}; batch losses {string.Join(" ", losses.Select(l => l.ToString("F3")))}");
    }

    private static Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<T>> Create(CurvatureBackend backend, string name) => name switch
    {
        "kfac" => (spec, values, grads) => new KfacOptimizer<T>(backend, spec, values, grads),
        "ekfac" => (spec, values, grads) => new EkfacOptimizer<T>(backend, spec, values, grads),
        _ => (spec, values, grads) => new AdaFisherOptimizer<T>(backend, spec, values, grads),
    };
}

public sealed class FloatBridgeTrainingTests : BridgeTrainingTests<float>;

public sealed class DoubleBridgeTrainingTests : BridgeTrainingTests<double>;
