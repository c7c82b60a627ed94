using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.TestKit;

/// <summary>Small seeded classification problems as TorchSharp models and data (labels from a fixed random teacher).</summary>
public static class TorchProblems
{
    /// <summary>A model factory (same initial weights every call) and its training set.</summary>
    public sealed record Problem(string Name, Func<nn.Module<Tensor, Tensor>> CreateModel, Tensor Inputs, Tensor Labels, int BatchSize) : IDisposable
    {
        public long Count => Inputs.shape[0];

        /// <summary>Batch <paramref name="index"/> of a fixed cyclic order (tensors in the current dispose scope).</summary>
        public (Tensor X, Tensor Y) Batch(int index)
        {
            long batches = Count / BatchSize, start = index % batches * BatchSize;
            return (Inputs.narrow(0, start, BatchSize), Labels.narrow(0, start, BatchSize));
        }

        /// <summary>The mean cross-entropy over the whole training set.</summary>
        public double Loss(nn.Module<Tensor, Tensor> model)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return nn.functional.cross_entropy(model.call(Inputs), Labels).to(ScalarType.Float64).item<double>();
        }

        public void Dispose()
        {
            Inputs.Dispose();
            Labels.Dispose();
        }
    }

    /// <summary>A 10-32-3 tanh MLP on Gaussian inputs, batch 64.</summary>
    public static Problem Mlp(ScalarType type)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(101);
        var x = randn([512, 10], ScalarType.Float64, generator: generator);
        var teacher = randn([10, 3], ScalarType.Float64, generator: generator);
        var labels = (x.matmul(teacher).tanh() + (3 * x.narrow(1, 0, 1)).sin()).argmax(1);
        return new Problem("MLP 10-32-3", () => Initialize(nn.Sequential(("0", nn.Linear(10, 32)), ("1", nn.Tanh()), ("2", nn.Linear(32, 3))), type, 7),
            x.to(type).DetachFromDisposeScope(), labels.DetachFromDisposeScope(), 64);
    }

    /// <summary>A two-layer CNN (3×3 convolutions, max pooling) on 1×8×8 images, batch 32.</summary>
    public static Problem Cnn(ScalarType type)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(102);
        var x = randn([256, 1, 8, 8], ScalarType.Float64, generator: generator);
        var teacher = randn([16, 3], ScalarType.Float64, generator: generator);
        var pooled = nn.functional.avg_pool2d(x, 2).flatten(1);
        var labels = pooled.matmul(teacher).argmax(1);
        return new Problem("CNN c4-c8-fc3", () => Initialize(nn.Sequential(
                ("0", nn.Conv2d(1, 4, 3, padding: 1)), ("1", nn.ReLU()), ("2", nn.MaxPool2d(2)),
                ("3", nn.Conv2d(4, 8, 3, padding: 1)), ("4", nn.ReLU()), ("5", nn.Flatten()),
                ("6", nn.Linear(8 * 4 * 4, 3))), type, 8),
            x.to(type).DetachFromDisposeScope(), labels.DetachFromDisposeScope(), 32);
    }

    /// <summary>
    /// Every layer kind on token sequences, batch 32: Embedding(20, 8) on 4 tokens, LayerNorm over [4, 8] (two axes),
    /// Linear(8, 8) shared over the tokens, a plain trainable scale, Linear(32, 3).
    /// </summary>
    public static Problem Tokens(ScalarType type)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(103);
        var x = randint(0, 20, [256, 4], generator: generator);
        var teacher = randn([20, 3], ScalarType.Float64, generator: generator);
        var labels = (teacher.index_select(0, x.flatten()).view(256, 4, 3) * tensor(new double[] { 1, -1, 2, 0.5 }).view(1, 4, 1)).sum(1).argmax(1);
        return new Problem("tokens", () => Initialize(nn.Sequential(
                ("emb", nn.Embedding(20, 8)), ("ln", nn.LayerNorm([4, 8])), ("fc", nn.Linear(8, 8)), ("act", nn.Tanh()),
                ("scale", new Scale(8)), ("flat", nn.Flatten()), ("head", nn.Linear(32, 3))), type, 9),
            x.DetachFromDisposeScope(), labels.DetachFromDisposeScope(), 32);
    }

    /// <summary>
    /// Convolutions with batch normalisation, batch 32: Conv2d(2, 4) and BatchNorm2d, a grouped Conv2d(4, 4, groups 2),
    /// Linear(64, 16) with BatchNorm1d, Linear(16, 3), on 2×4×4 images.
    /// </summary>
    public static Problem Images(ScalarType type)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(104);
        var x = randn([256, 2, 4, 4], ScalarType.Float64, generator: generator);
        var teacher = randn([32, 3], ScalarType.Float64, generator: generator);
        var labels = x.flatten(1).square().matmul(teacher).argmax(1);
        return new Problem("images", () => Initialize(nn.Sequential(
                ("conv", nn.Conv2d(2, 4, 3, padding: 1)), ("bn", nn.BatchNorm2d(4)), ("r1", nn.ReLU()),
                ("grouped", nn.Conv2d(4, 4, 3, padding: 1, groups: 2)), ("r2", nn.ReLU()), ("flat", nn.Flatten()),
                ("fc", nn.Linear(64, 16)), ("bn1", nn.BatchNorm1d(16)), ("r3", nn.ReLU()), ("head", nn.Linear(16, 3))), type, 10),
            x.to(type).DetachFromDisposeScope(), labels.DetachFromDisposeScope(), 32);
    }

    /// <summary>
    /// Converts <paramref name="model"/> to <paramref name="type"/> and sets every parameter from a generator of its own
    /// (PyTorch's default range: uniform in ±1/√fan_in, a bias with its weight's fan-in; scales of normalisation layers
    /// and <see cref="Scale"/> 1 ± 0.1, their shifts ±0.1), so the same seed gives the same model even while other tests
    /// draw from the global generator.
    /// </summary>
    public static M Initialize<M>(M model, ScalarType type, ulong seed)
        where M : nn.Module
    {
        model.to(type);
        var scales = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, m) in model.named_modules())
        {
            if (m is global::TorchSharp.Modules.LayerNorm or global::TorchSharp.Modules.BatchNorm or Scale)
            {
                scales.Add(name);
            }
        }

        using var scope = NewDisposeScope();
        var generator = new Generator(seed);
        double bound = 1;
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            var u = (rand(p.shape, ScalarType.Float64, generator: generator) * 2) - 1;
            int dot = name.LastIndexOf('.');
            if (scales.Contains(dot < 0 ? "" : name[..dot]))
            {
                p.copy_(name.EndsWith(".bias", StringComparison.Ordinal) ? u * 0.1 : 1 + (u * 0.1));
                continue;
            }

            if (p.dim() >= 2)
            {
                bound = 1 / Math.Sqrt(p.numel() / p.shape[0]);
            }

            p.copy_(u * bound);
        }

        return model;
    }

    /// <summary>An elementwise trainable scale over the last axis: a parameter outside every supported layer.</summary>
    public sealed class Scale : nn.Module<Tensor, Tensor>
    {
        private readonly global::TorchSharp.Modules.Parameter weight;

        public Scale(long features)
            : base(nameof(Scale))
        {
            weight = nn.Parameter(ones(features));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => input * weight;
    }
}
