using System.Numerics;
using Curvature.Layers;
using Curvature.Loss;
using Curvature.Models;

namespace Curvature.Tests.Training;

/// <summary>
/// The standard training problems every curvature optimizer must handle with its default settings: small, seeded,
/// learnable synthetic data sets and networks written with the test modules of TinyNet.cs.
/// </summary>
internal static class StandardProblems
{
    public const string MlpClassifier = "mlp-classifier";
    public const string DeepAutoencoder = "deep-autoencoder";
    public const string ConvClassifier = "conv-classifier";
    public const string SequenceModel = "sequence-model";
    public const string NormEmbeddingModel = "layernorm-embedding";

    public static IReadOnlyList<string> All { get; } = [MlpClassifier, DeepAutoencoder, ConvClassifier, SequenceModel, NormEmbeddingModel];

    /// <summary>A problem: a fresh network (same initial weights for the same seed) and its training set.</summary>
    public sealed record Problem<T>(string Name, Func<TinyNetwork<T>> CreateNetwork, Batch<T> Data, int BatchSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public int Count => Data.Inputs.Shape[0];

        /// <summary>Batch <paramref name="index"/> of a fixed cyclic order.</summary>
        public Batch<T> GetBatch(int index)
        {
            int batches = Count / BatchSize, start = index % batches * BatchSize;
            var shape = Data.Inputs.Shape;
            int inputEach = Data.Inputs.Data.Length / Count;
            var inputs = new Tensor<T>(Data.Inputs.Data.AsSpan(start * inputEach, BatchSize * inputEach).ToArray(), [BatchSize, .. shape[1..]]);
            int[]? labels = Data.Labels?.AsSpan(start, BatchSize).ToArray();
            T[]? targets = null;
            if (Data.Targets is { } all)
            {
                int each = all.Length / Count;
                targets = all.AsSpan(start * each, BatchSize * each).ToArray();
            }

            return new Batch<T>(inputs, labels, targets);
        }
    }

    public static Problem<T> Create<T>(string name)
        where T : unmanaged, IFloatingPointIeee754<T> => name switch
        {
            MlpClassifier => Mlp<T>(),
            DeepAutoencoder => Autoencoder<T>(),
            ConvClassifier => Conv<T>(),
            SequenceModel => Sequence<T>(),
            NormEmbeddingModel => NormEmbedding<T>(),
            _ => throw new ArgumentException($"Unknown problem '{name}'.", nameof(name)),
        };

    private static T[] Cast<T>(IEnumerable<double> values)
        where T : unmanaged, IFloatingPointIeee754<T> => [.. values.Select(T.CreateChecked)];

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>10-32-3 tanh MLP, cross-entropy; labels from a random teacher network.</summary>
    private static Problem<T> Mlp<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(101);
        int n = 512, d = 10, c = 3;
        var x = Enumerable.Range(0, n * d).Select(_ => Gaussian(rng)).ToArray();
        var teacher = Enumerable.Range(0, d * c).Select(_ => Gaussian(rng)).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, c)
            .Select(k => Math.Tanh(Enumerable.Range(0, d).Sum(j => teacher[(k * d) + j] * x[(i * d) + j])) + Math.Sin(3 * x[i * d] * (k + 1)))
            .Select((v, k) => (v, k)).MaxBy(t => t.v).k).ToArray();
        var data = new Batch<T>(new Tensor<T>(Cast<T>(x), [n, d]), labels, null);
        return new Problem<T>(MlpClassifier, () => new TinyNetwork<T>(LossFunction.CrossEntropy, 1,
            new Linear<T>("0", d, 32), new Activation<T>(ActivationKind.Tanh), new Linear<T>("2", 32, c)), data, 64);
    }

    /// <summary>Deep autoencoder 20-32-16-4-16-32-20 (tanh, linear code), sigmoid output with binary cross-entropy, on data
    /// near a 4-dimensional manifold in [0, 1]^20.</summary>
    private static Problem<T> Autoencoder<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(202);
        int n = 512, d = 20, k = 4;
        var mix = Enumerable.Range(0, d * k).Select(_ => 1.5 * Gaussian(rng)).ToArray();
        var targets = new double[n * d];
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, k).Select(_ => Gaussian(rng)).ToArray();
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++)
                {
                    s += mix[(j * k) + t] * z[t];
                }

                targets[(i * d) + j] = 1 / (1 + Math.Exp(-s));
            }
        }

        var data = new Batch<T>(new Tensor<T>(Cast<T>(targets), [n, d]), null, Cast<T>(targets));
        return new Problem<T>(DeepAutoencoder, () => new TinyNetwork<T>(LossFunction.BinaryCrossEntropyWithLogits, 2,
            new Linear<T>("enc0", d, 32), new Activation<T>(ActivationKind.Tanh),
            new Linear<T>("enc1", 32, 16), new Activation<T>(ActivationKind.Tanh),
            new Linear<T>("code", 16, k),
            new Linear<T>("dec0", k, 16), new Activation<T>(ActivationKind.Tanh),
            new Linear<T>("dec1", 16, 32), new Activation<T>(ActivationKind.Tanh),
            new Linear<T>("out", 32, d)), data, 64);
    }

    /// <summary>Conv 1→4 3×3 (ReLU), conv 4→4 3×3 stride 2 (ReLU), Linear 64→3: which image quadrant holds a blob.</summary>
    private static Problem<T> Conv<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(303);
        int n = 384, h = 8, c = 3;
        var images = new double[n * h * h];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = rng.Next(c);
            int cy = labels[i] == 1 ? 5 : 2, cx = labels[i] == 2 ? 5 : 2;
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < h; x++)
                {
                    double r2 = ((y - cy) * (y - cy)) + ((x - cx) * (x - cx));
                    images[(i * h * h) + (y * h) + x] = Math.Exp(-r2 / 2) + (0.3 * Gaussian(rng));
                }
            }
        }

        var first = new Conv2dGeometry(1, 4, 3, 3, paddingHeight: 1, paddingWidth: 1);
        var second = new Conv2dGeometry(4, 4, 3, 3, strideHeight: 2, strideWidth: 2, paddingHeight: 1, paddingWidth: 1);
        var data = new Batch<T>(new Tensor<T>(Cast<T>(images), [n, 1, h, h]), labels, null);
        return new Problem<T>(ConvClassifier, () => new TinyNetwork<T>(LossFunction.CrossEntropy, 3,
            new Conv2d<T>("conv0", first), new Activation<T>(ActivationKind.Relu),
            new Conv2d<T>("conv1", second), new Activation<T>(ActivationKind.Relu),
            new Flatten<T>(), new Linear<T>("fc", 4 * 4 * 4, c)), data, 64);
    }

    /// <summary>A Linear layer shared over 6 sequence positions ([N, 6, 5] inputs), tanh, mean over the sequence, Linear
    /// 8→3, cross-entropy; labels from a random teacher of the same form.</summary>
    private static Problem<T> Sequence<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(404);
        int n = 512, s = 6, d = 5, c = 3;
        var x = Enumerable.Range(0, n * s * d).Select(_ => Gaussian(rng)).ToArray();
        var teacher = Enumerable.Range(0, d * c).Select(_ => Gaussian(rng)).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, c)
            .Select(k => Enumerable.Range(0, s).Sum(p => Math.Tanh(Enumerable.Range(0, d).Sum(j => teacher[(k * d) + j] * x[(((i * s) + p) * d) + j]))))
            .Select((v, k) => (v, k)).MaxBy(t => t.v).k).ToArray();
        var data = new Batch<T>(new Tensor<T>(Cast<T>(x), [n, s, d]), labels, null);
        return new Problem<T>(SequenceModel, () => new TinyNetwork<T>(LossFunction.CrossEntropy, 4,
            new Linear<T>("shared", d, 8), new Activation<T>(ActivationKind.Tanh),
            new MeanOverSequence<T>(), new Linear<T>("head", 8, c)), data, 64);
    }

    /// <summary>Tokens [N, 5] from a vocabulary of 12, Embedding 12×8, a learned position parameter [5, 8], LayerNorm(8),
    /// mean over the sequence, Linear 8→3, cross-entropy; the label is the class whose token set occurs most often.</summary>
    private static Problem<T> NormEmbedding<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(505);
        int n = 480, s = 5, vocabulary = 12, c = 3;
        var tokens = new double[n * s];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            var counts = new int[c];
            for (int p = 0; p < s; p++)
            {
                int t = rng.Next(vocabulary);
                tokens[(i * s) + p] = t;
                counts[t % c]++;
            }

            labels[i] = Array.IndexOf(counts, counts.Max());
        }

        var data = new Batch<T>(new Tensor<T>(Cast<T>(tokens), [n, s]), labels, null);
        return new Problem<T>(NormEmbeddingModel, () => new TinyNetwork<T>(LossFunction.CrossEntropy, 5,
            new Embedding<T>("embed", vocabulary, 8), new AddParameter<T>("position", s, 8), new LayerNorm<T>("norm", 8),
            new MeanOverSequence<T>(), new Linear<T>("head", 8, c)), data, 48);
    }
}
