using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.AdaFisher;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Layers;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// One AdaFisher step (<see cref="AdaFisherOptimizer{T}"/>, variant AdaFisher): <c>Observe</c> of every layer's input
/// and output gradient, then <c>Step</c> (diagonal Kronecker factors refreshed, every parameter updated), for an MLP
/// 784-512-512-10 (batch 128) and for the Conv2d layer of the K-FAC issue (<see cref="AlgorithmWorkloads.IssueConv"/>: 64 → 64, 3 × 3, 32 × 32 images, batch 32), in the
/// principled and the official-compatible mode. Both modes refresh the factors on every step (official mode with
/// <c>TCov = 1</c>), so every measured step is a refresh step.
/// </summary>
/// <remarks>Linear and Conv2d layers use no BLAS kernels (diagonal factors), so the step runs on the managed backend only.</remarks>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "AdaFisher")]
[AlgorithmJob]
public class AdaFisherStepBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The MLP of the AdaFisher issue.</summary>
    public const string Mlp = "Mlp784-512-512-10";

    /// <summary>The Conv2d layer of the K-FAC issue.</summary>
    public const string Conv2d = "Conv2d64-64-3x3-32px";

    private const int MlpBatch = 128;
    private static ConvWorkload Conv => AlgorithmWorkloads.IssueConv;
    private static readonly int[] MlpWidths = [784, 512, 512, 10];
    private AdaFisherOptimizer<T> _optimizer = null!;
    private Observation[] _observations = [];
    private AdaFisherParameter<T>[] _parameters = [];

    /// <summary>The network.</summary>
    [Params(Mlp, Conv2d)]
    public string Model { get; set; } = Mlp;

    /// <summary>The factor rule.</summary>
    [Params(AdaFisherMode.Principled, AdaFisherMode.OfficialCompatible)]
    public AdaFisherMode Mode { get; set; } = AdaFisherMode.Principled;

    /// <summary>Registers the layers with seeded parameters, gradients and layer data, runs one step and checks it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Build();
        var before = _parameters.Select(p => p.Values.ToArray()).ToArray();
        Step();
        Verify(before);
    }

    /// <summary>Observes every layer, then takes one optimizer step.</summary>
    [Benchmark]
    public void Step()
    {
        foreach (var o in _observations)
        {
            _optimizer.Observe(o.Layer, o.Input, o.InputShape, o.OutputGradient);
        }

        _optimizer.Step();
    }

    private void Build()
    {
        var options = Mode == AdaFisherMode.Principled ? new AdaFisherOptions() : AdaFisherOptions.Official(tCov: 1);
        _optimizer = new AdaFisherOptimizer<T>(BenchmarkBackends.Create("managed", 1), options, AdaFisherVariant.AdaFisher);
        var parameters = new List<AdaFisherParameter<T>>();
        var observations = new List<Observation>();
        if (Model == Mlp)
        {
            for (int l = 0; l < MlpWidths.Length - 1; l++)
            {
                int din = MlpWidths[l], dout = MlpWidths[l + 1];
                string name = $"fc{l + 1}";
                var w = Parameter($"{name}.weight", dout * din, 50 + l);
                var b = Parameter($"{name}.bias", dout, 60 + l);
                _optimizer.AddLinear(name, din, dout, w, b);
                parameters.Add(w);
                parameters.Add(b);
                observations.Add(new Observation(name,
                    SeededData.Uniform<T>(MlpBatch * din, SeededData.SeedFor(din, 70 + l)), [MlpBatch, din],
                    SeededData.Uniform<T>(MlpBatch * dout, SeededData.SeedFor(dout, 80 + l))));
            }
        }
        else
        {
            var geometry = Conv.Geometry;
            var w = Parameter("conv.weight", geometry.OutChannels * geometry.PatchSize, 55);
            var b = Parameter("conv.bias", geometry.OutChannels, 65);
            _optimizer.AddConv2d("conv", geometry, w, b);
            parameters.Add(w);
            parameters.Add(b);
            observations.Add(new Observation("conv", Conv.Input<T>(), Conv.InputShape, Conv.OutputGradients<T>()));
        }

        _parameters = [.. parameters];
        _observations = [.. observations];
    }

    private static AdaFisherParameter<T> Parameter(string name, int length, int stream)
    {
        var values = SeededData.Uniform<T>(length, SeededData.SeedFor(length, stream));
        var gradient = SeededData.Uniform<T>(length, SeededData.SeedFor(length, stream + 100));
        return new AdaFisherParameter<T>(name, values, gradient);
    }

    /// <summary>
    /// The first step must change θ by <c>−lr·(g + wd·θ) / (S_i·H_j + ε)</c> with the optimizer's factors, and in the
    /// principled mode those factors must equal the raw statistics recomputed here (<c>H_j = Σ x_j² / R</c> over the R
    /// input rows, <c>S_i = N·Σ g_i²</c> for a batch-mean loss; bias feature H = 1).
    /// </summary>
    private void Verify(T[][] before)
    {
        var options = _optimizer.Options;
        double tol = WorkloadCheck.Tolerance<T>();
        for (int l = 0; l < _observations.Length; l++)
        {
            var o = _observations[l];
            var h = _optimizer.GetInputFactor(o.Layer).ToArray().Select(double.CreateChecked).ToArray();
            var s = _optimizer.GetOutputFactor(o.Layer).ToArray().Select(double.CreateChecked).ToArray();
            WorkloadCheck.Finite<double>($"AdaFisher H of {o.Layer}", h);
            WorkloadCheck.Finite<double>($"AdaFisher S of {o.Layer}", s);
            int din = h.Length - 1, dout = s.Length;
            if (Mode == AdaFisherMode.Principled)
            {
                double[,] rows = Model == Mlp ? Rows(o.Input, din) : Conv.Patches(o.Input, appendOnes: false);
                int count = rows.GetLength(0), batch = o.InputShape[0];
                var expectedH = new double[din + 1];
                for (int r = 0; r < count; r++)
                {
                    for (int j = 0; j < din; j++)
                    {
                        expectedH[j] += rows[r, j] * rows[r, j] / count;
                    }
                }

                expectedH[din] = 1;
                var expectedS = new double[dout];
                int perChannel = o.OutputGradient.Length / (batch * dout);
                for (int n = 0; n < batch; n++)
                {
                    for (int i = 0; i < dout; i++)
                    {
                        for (int p = 0; p < perChannel; p++)
                        {
                            int index = Model == Mlp ? (n * dout) + i : (((n * dout) + i) * perChannel) + p;
                            double g = double.CreateChecked(o.OutputGradient[index]);
                            expectedS[i] += g * g * batch;
                        }
                    }
                }

                WorkloadCheck.Close($"AdaFisher H of {o.Layer} ({Mode}, {typeof(T).Name})", h, expectedH, tol);
                WorkloadCheck.Close($"AdaFisher S of {o.Layer} ({Mode}, {typeof(T).Name})", s, expectedS, tol);
            }

            var weight = _parameters[2 * l];
            var bias = _parameters[(2 * l) + 1];
            var expected = new double[weight.Length + bias.Length];
            var actual = new double[expected.Length];
            for (int k = 0; k < expected.Length; k++)
            {
                bool isBias = k >= weight.Length;
                var p = isBias ? bias : weight;
                int index = isBias ? k - weight.Length : k;
                int i = isBias ? index : index / din, j = isBias ? din : index % din;
                double theta = double.CreateChecked(before[isBias ? (2 * l) + 1 : 2 * l][index]);
                double g = double.CreateChecked(p.Gradient.Span[index]);
                expected[k] = -(options.LearningRate * (g + (options.WeightDecay * theta)) / ((s[i] * h[j]) + options.Epsilon));
                actual[k] = double.CreateChecked(p.Values.Span[index]) - theta;
            }

            // The change θ_new − θ is compared (not θ_new, which would hide a wrong step). In float a change can be below
            // the resolution of θ (the Conv2d layer's steps are ~1e-8), so float is checked entry by entry with a
            // 1 % + 2 ulp(θ) bound; double as a whole with the double tolerance.
            string what = $"AdaFisher first-step change of {o.Layer} ({Mode}, {typeof(T).Name})";
            if (typeof(T) == typeof(float))
            {
                int bad = 0;
                for (int k = 0; k < expected.Length; k++)
                {
                    double old = double.CreateChecked(k >= weight.Length ? before[(2 * l) + 1][k - weight.Length] : before[2 * l][k]);
                    float updated = Math.Abs((float)(old + actual[k]));
                    double bound = (0.01 * Math.Abs(expected[k])) + (2.0 * (MathF.BitIncrement(updated) - updated));
                    bad += Math.Abs(actual[k] - expected[k]) <= bound ? 0 : 1;
                }

                WorkloadCheck.That(bad == 0, $"{what}: {bad} of {expected.Length} entries outside 1 % + 2 ulp(θ).");
                Console.WriteLine($"// Workload check: {what}: all {expected.Length} entries within 1 % + 2 ulp(θ) OK");
            }
            else
            {
                WorkloadCheck.Close(what, actual, expected, tol);
            }
        }
    }

    private static double[,] Rows(T[] input, int width)
    {
        int count = input.Length / width;
        var rows = new double[count, width];
        for (int r = 0; r < count; r++)
        {
            for (int j = 0; j < width; j++)
            {
                rows[r, j] = double.CreateChecked(input[(r * width) + j]);
            }
        }

        return rows;
    }

    private sealed record Observation(string Layer, T[] Input, int[] InputShape, T[] OutputGradient);
}
