using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>A sample model with a fixed batch (float32, seeded), and a twin with the same weights for the bridged steps.</summary>
public sealed class Workload : IDisposable
{
    private readonly Func<nn.Module<Tensor, Tensor>> _create;

    private Workload(string name, Func<nn.Module<Tensor, Tensor>> create, Tensor input, Tensor targets)
    {
        Name = name;
        _create = create;
        Model = create();
        Input = input;
        Targets = targets;
    }

    public string Name { get; }

    /// <summary>The model the plain steps train (no hooks attached).</summary>
    public nn.Module<Tensor, Tensor> Model { get; }

    public Tensor Input { get; }

    public Tensor Targets { get; }

    /// <summary>A new model with the same initial weights (for a bridged run).</summary>
    public nn.Module<Tensor, Tensor> CreateTwin() => _create();

    /// <summary>An MLP 784-256-10 (batch 64) and a small CNN on 1×28×28 images (batch 32).</summary>
    public static IEnumerable<Workload> All()
    {
        manual_seed(1);
        yield return new Workload("MLP 784-256-10 (64)",
            () =>
            {
                manual_seed(11);
                return nn.Sequential(("0", nn.Linear(784, 256)), ("1", nn.ReLU()), ("2", nn.Linear(256, 10)));
            },
            randn(64, 784).DetachFromDisposeScope(), randint(0, 10, [64]).DetachFromDisposeScope());
        manual_seed(2);
        yield return new Workload("CNN c8-c16-fc10 (32)",
            () =>
            {
                manual_seed(12);
                return nn.Sequential(
                    ("0", nn.Conv2d(1, 8, 3, padding: 1)), ("1", nn.ReLU()), ("2", nn.MaxPool2d(2)),
                    ("3", nn.Conv2d(8, 16, 3, padding: 1)), ("4", nn.ReLU()), ("5", nn.MaxPool2d(2)),
                    ("6", nn.Flatten()), ("7", nn.Linear(16 * 7 * 7, 10)));
            },
            randn(32, 1, 28, 28).DetachFromDisposeScope(), randint(0, 10, [32]).DetachFromDisposeScope());
    }

    public void Dispose()
    {
        Input.Dispose();
        Targets.Dispose();
        Model.Dispose();
    }
}
