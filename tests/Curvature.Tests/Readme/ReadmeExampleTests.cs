using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Native;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Readme;

/// <summary>
/// The C# blocks of README.md, compiled as written: each block's text equals a marked region of this file (checked by
/// <see cref="ReadmeBlocks_AreTheRegionsCompiledHere"/>), and the regions run against real data.
/// </summary>
public class ReadmeExampleTests
{
    [Fact]
    public void ReadmeBlocks_AreTheRegionsCompiledHere()
    {
        string source = File.ReadAllText(SourcePath());
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(SourcePath())!, "..", "..", "..", "README.md"));
        var blocks = Blocks(readme, "```csharp\n", "```");
        var regions = Blocks(source, "// ── README ──\n", "// ── end ──");
        Assert.Equal(2, regions.Count);
        foreach (var region in regions)
        {
            Assert.Contains(region, blocks);
        }
    }

    [Fact]
    public void TrainingExample_TrainsAnMlp()
    {
        var net = new ReadmeNet(seed: 1);
        var batches = ReadmeNet.Batches(count: 40, size: 64, seed: 2);
        double first = net.Evaluate(batches[0]);

        // ── README ──
        var backend = BackendSelector.FromEnvironment();      // OpenBLAS, MKL or managed (CURVATURE_BACKEND overrides)

        // The trainable layers, once; parameters are named and shaped as PyTorch's named_parameters() ("fc1.weight" [32, 10], ...).
        var model = new ModelSpec([LayerSpec.Linear("fc1", 10, 32), LayerSpec.Linear("fc2", 32, 3)]);

        // Your parameter and gradient buffers by name: row-major arrays, wrapped (not copied).
        var parameters = new ParameterSet();
        var gradients = new ParameterSet();
        foreach (ParameterSpec p in model.Parameters)
        {
            parameters.Add(p.Name, net.Values(p.Name), p.Shape);
            gradients.Add(p.Name, net.Gradients(p.Name), p.Shape);
        }

        using var optimizer = new KfacOptimizer<double>(backend, model, parameters, gradients);   // safe defaults

        foreach (var batch in batches)
        {
            double loss = net.ForwardBackward(batch);        // mean loss; writes ∂L/∂θ into the gradient buffers
            if (optimizer.NeedsObservations)
            {
                foreach (var layer in net.Layers)             // layer input a [N, in], ∂L/∂(layer output) g [N, out]
                {
                    optimizer.Observe(layer.Name, layer.Input, layer.OutputGradient);
                }
            }

            optimizer.Step(loss);                            // updates the parameters in place
        }

        // ── end ──
        Assert.Equal(40, optimizer.StepCount);
        Assert.True(net.Evaluate(batches[0]) < 0.6 * first, $"The loss went from {first} to {net.Evaluate(batches[0])}.");
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void OperatorExample_InverseUndoesMultiply(string backendName)
    {
        CurvatureBackend backend = TestBackends.Get(backendName);
        var rng = new Random(7);
        double[] a = Fill(rng, 8 * 5), g = Fill(rng, 1 * 8 * 4);   // layer input [N=8, 5]; one vector: g [V=1, N=8, 4]

        // ── README ──
        var operatorModel = new ModelSpec([LayerSpec.Linear("0", inFeatures: 5, outFeatures: 4)]);
        var builder = new KfacFactorBuilder<double>(backend, operatorModel, new KfacOptions { NumData = 8, Fisher = FisherType.Empirical });
        builder.AccumulateLayer("0", a, [8, 5], g, [1, 8, 4]);        // once per batch and layer
        KfacOperator<double> fisher = builder.ToOperator();            // (G ⊗ A) over [W | b]
        var inverse = fisher.Inverse(KfacInverseOptions.Plain(1e-3));  // (G + δI)⁻¹ ⊗ (A + δI)⁻¹; also Heuristic(...), Exact(...)
        // ── end ──

        var dense = fisher.ToDense();
        int d = fisher.Dimension;
        Assert.Equal(4 * 6, d);
        double trace = 0;
        for (int i = 0; i < d; i++)
        {
            trace += dense[(i * d) + i];
        }

        Assert.Equal(trace, fisher.Trace(), 1e-12);
        var v = Fill(rng, d);
        var fv = new double[d];
        inverse.Apply(v, fv);

        // ((G + δI) ⊗ (A + δI)) applied to (G + δI)⁻¹ ⊗ (A + δI)⁻¹ v gives v back; parameter order is the weight
        // (row-major 4 × 5), then the bias; the block acts on V = [W | b] (4 × 6).
        var gd = new double[16];
        var ad = new double[36];
        builder.Blocks[0].GradientCovariance.CopyTo(gd);
        builder.Blocks[0].InputCovariance.CopyTo(ad);
        for (int i = 0; i < 4; i++)
        {
            gd[(i * 4) + i] += 1e-3;
        }

        for (int i = 0; i < 6; i++)
        {
            ad[(i * 6) + i] += 1e-3;
        }

        static int Index(int r, int c) => c < 5 ? (r * 5) + c : 20 + r;
        for (int r = 0; r < 4; r++)
        {
            for (int c = 0; c < 6; c++)
            {
                double s = 0;
                for (int r2 = 0; r2 < 4; r2++)
                {
                    for (int c2 = 0; c2 < 6; c2++)
                    {
                        s += gd[(r * 4) + r2] * ad[(c * 6) + c2] * fv[Index(r2, c2)];
                    }
                }

                Assert.Equal(v[Index(r, c)], s, 1e-8);
            }
        }
    }

    private static string SourcePath([CallerFilePath] string path = "") => path;

    /// <summary>The text between each <paramref name="open"/> and the next <paramref name="close"/>, with the common
    /// indentation removed and trailing blank lines dropped.</summary>
    private static List<string> Blocks(string text, string open, string close)
    {
        text = text.Replace("\r\n", "\n");
        var blocks = new List<string>();
        int at = 0;
        while ((at = text.IndexOf(open, at, StringComparison.Ordinal)) >= 0)
        {
            int start = at + open.Length;
            int end = text.IndexOf(close, start, StringComparison.Ordinal);
            var lines = text[start..end].Split('\n').ToList();
            while (lines.Count > 0 && string.IsNullOrWhiteSpace(lines[^1]))
            {
                lines.RemoveAt(lines.Count - 1);
            }

            int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
            blocks.Add(string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..].TrimEnd() : l.Trim())));
            at = end + close.Length;
        }

        return blocks;
    }

    private static double[] Fill(Random rng, int n)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = rng.NextDouble() - 0.5;
        }

        return x;
    }

    /// <summary>The README's network: a 10-32-3 tanh MLP with a mean cross-entropy loss, written out by hand.</summary>
    private sealed class ReadmeNet
    {
        private readonly Dictionary<string, double[]> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, double[]> _gradients = new(StringComparer.Ordinal);
        private readonly ReadmeLayer[] _layers = [new("fc1", 10, 32), new("fc2", 32, 3)];

        public ReadmeNet(int seed)
        {
            var rng = new Random(seed);
            foreach (var l in _layers)
            {
                _values[l.Name + ".weight"] = l.W = [.. Enumerable.Range(0, l.In * l.Out).Select(_ => (rng.NextDouble() - 0.5) * 2 / Math.Sqrt(l.In))];
                _values[l.Name + ".bias"] = l.B = new double[l.Out];
                _gradients[l.Name + ".weight"] = l.DW = new double[l.In * l.Out];
                _gradients[l.Name + ".bias"] = l.DB = new double[l.Out];
            }
        }

        public IReadOnlyList<ReadmeLayer> Layers => _layers;

        public double[] Values(string name) => _values[name];

        public double[] Gradients(string name) => _gradients[name];

        public static List<(double[] X, int[] Labels)> Batches(int count, int size, int seed)
        {
            var rng = new Random(seed);
            var teacher = Enumerable.Range(0, 30).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var batch = new List<(double[], int[])>();
            var x = Enumerable.Range(0, size * 10).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();
            var labels = Enumerable.Range(0, size).Select(n => Enumerable.Range(0, 3).MaxBy(k => Enumerable.Range(0, 10).Sum(j => teacher[(k * 10) + j] * x[(n * 10) + j]))).ToArray();
            for (int i = 0; i < count; i++)
            {
                batch.Add((x, labels));
            }

            return batch;
        }

        public double Evaluate((double[] X, int[] Labels) batch) => Forward(batch.X, batch.Labels, backward: false);

        public double ForwardBackward((double[] X, int[] Labels) batch) => Forward(batch.X, batch.Labels, backward: true);

        private double Forward(double[] x, int[] labels, bool backward)
        {
            int n = labels.Length;
            double[] h = x;
            foreach (var l in _layers)
            {
                h = l.Forward(h, n, tanh: l != _layers[^1]);
            }

            double loss = 0;
            var grad = new double[n * 3];
            for (int i = 0; i < n; i++)
            {
                var z = h.AsSpan(i * 3, 3);
                double max = Math.Max(z[0], Math.Max(z[1], z[2]));
                double sum = Math.Exp(z[0] - max) + Math.Exp(z[1] - max) + Math.Exp(z[2] - max);
                loss += Math.Log(sum) + max - z[labels[i]];
                for (int k = 0; k < 3; k++)
                {
                    grad[(i * 3) + k] = ((Math.Exp(z[k] - max) / sum) - (k == labels[i] ? 1 : 0)) / n;
                }
            }

            if (backward)
            {
                for (int li = _layers.Length - 1; li >= 0; li--)
                {
                    grad = _layers[li].Backward(grad, n);
                }
            }

            return loss / n;
        }
    }

    private sealed class ReadmeLayer(string name, int inputs, int outputs)
    {
        private double[] _input = [], _outputGradient = [], _activation = [];
        private bool _tanh;
        private int _rows;

        public string Name { get; } = name;

        public int In { get; } = inputs;

        public int Out { get; } = outputs;

        public double[] W { get; set; } = [];

        public double[] B { get; set; } = [];

        public double[] DW { get; set; } = [];

        public double[] DB { get; set; } = [];

        public ReadOnlySpan2D<double> Input => new(_input, _rows, In);

        public ReadOnlySpan2D<double> OutputGradient => new(_outputGradient, _rows, Out);

        public double[] Forward(double[] x, int n, bool tanh)
        {
            (_input, _rows, _tanh) = (x, n, tanh);
            var y = new double[n * Out];
            for (int i = 0; i < n; i++)
            {
                for (int o = 0; o < Out; o++)
                {
                    double s = B[o];
                    for (int j = 0; j < In; j++)
                    {
                        s += W[(o * In) + j] * x[(i * In) + j];
                    }

                    y[(i * Out) + o] = tanh ? Math.Tanh(s) : s;
                }
            }

            _activation = y;
            return y;
        }

        public double[] Backward(double[] gradOut, int n)
        {
            _outputGradient = new double[n * Out];
            var dx = new double[n * In];
            Array.Clear(DW);
            Array.Clear(DB);
            for (int i = 0; i < n; i++)
            {
                for (int o = 0; o < Out; o++)
                {
                    double y = _activation[(i * Out) + o];
                    double g = gradOut[(i * Out) + o] * (_tanh ? 1 - (y * y) : 1);
                    _outputGradient[(i * Out) + o] = g;
                    DB[o] += g;
                    for (int j = 0; j < In; j++)
                    {
                        DW[(o * In) + j] += g * _input[(i * In) + j];
                        dx[(i * In) + j] += g * W[(o * In) + j];
                    }
                }
            }

            return dx;
        }
    }
}
