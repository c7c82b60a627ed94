using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>A sample model with a fixed batch (float32, seeded).</summary>
public sealed class Workload : IDisposable
{
    private Workload(string name, nn.Module<Tensor, Tensor> model, Tensor input, Tensor targets)
    {
        Name = name;
        Model = model;
        Input = input;
        Targets = targets;
    }

    public string Name { get; }

    public nn.Module<Tensor, Tensor> Model { get; }

    public Tensor Input { get; }

    public Tensor Targets { get; }

    /// <summary>An MLP 784-256-10 (batch 64) and a small CNN on 1×28×28 images (batch 32).</summary>
    public static IEnumerable<Workload> All()
    {
        manual_seed(1);
        yield return new Workload("MLP 784-256-10 (64)",
            nn.Sequential(("0", nn.Linear(784, 256)), ("1", nn.ReLU()), ("2", nn.Linear(256, 10))),
            randn(64, 784).DetachFromDisposeScope(), randint(0, 10, [64]).DetachFromDisposeScope());
        manual_seed(2);
        yield return new Workload("CNN c8-c16-fc10 (32)",
            nn.Sequential(
                ("0", nn.Conv2d(1, 8, 3, padding: 1)), ("1", nn.ReLU()), ("2", nn.MaxPool2d(2)),
                ("3", nn.Conv2d(8, 16, 3, padding: 1)), ("4", nn.ReLU()), ("5", nn.MaxPool2d(2)),
                ("6", nn.Flatten()), ("7", nn.Linear(16 * 7 * 7, 10))),
            randn(32, 1, 28, 28).DetachFromDisposeScope(), randint(0, 10, [32]).DetachFromDisposeScope());
    }

    public void Dispose()
    {
        Input.Dispose();
        Targets.Dispose();
        Model.Dispose();
    }
}
