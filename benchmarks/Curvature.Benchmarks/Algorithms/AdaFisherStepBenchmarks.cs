using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.AdaFisher;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// One AdaFisher step (<see cref="AdaFisherOptimizer{T}"/>, coupled weight decay): <c>Observe</c> of every layer's input
/// and output gradient, then <c>Step</c> (diagonal Kronecker factors updated, every parameter updated), for an MLP
/// 784-512-512-10 (batch 128) and for the Conv2d layer of the K-FAC issue (<see cref="AlgorithmWorkloads.IssueConv"/>: 64 → 64, 3 × 3, 32 × 32 images, batch 32), in the
/// principled and the official-compatible mode. Both modes update the factors on every step (official mode with
/// <c>TCov = 1</c>), so every measured step is a statistics step.
/// </summary>
/// <remarks>Linear and Conv2d layers use no BLAS kernels (diagonal factors), so the step runs on the managed backend only.
/// The principled mode runs without its KL clipping, so that the set-up check can rebuild the first step exactly.</remarks>
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
    private (T[] Values, T[] Gradient)[] _parameters = [];

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
        var before = _parameters.Select(p => (T[])p.Values.Clone()).ToArray();
        Step();
        Verify(before);
    }

    /// <summary>Disposes the optimizer.</summary>
    [GlobalCleanup]
    public void Cleanup() => _optimizer.Dispose();

    /// <summary>Observes every layer, then takes one optimizer step.</summary>
    [Benchmark]
    public void Step()
    {
        foreach (var o in _observations)
        {
            _optimizer.Observe(o.Layer, o.Input, o.InputShape, o.OutputGradient, o.GradientShape);
        }

        _optimizer.Step(double.NaN);
    }

    private void Build()
    {
        var options = Mode == AdaFisherMode.Principled ? new AdaFisherOptimizerOptions { KlClip = null } : AdaFisherOptimizerOptions.Official(tCov: 1);
        var layers = new List<LayerSpec>();
        var observations = new List<Observation>();
        if (Model == Mlp)
        {
            for (int l = 0; l < MlpWidths.Length - 1; l++)
            {
                int din = MlpWidths[l], dout = MlpWidths[l + 1];
                string name = $"fc{l + 1}";
                layers.Add(LayerSpec.Linear(name, din, dout));
                observations.Add(new Observation(name,
                    SeededData.Uniform<T>(MlpBatch * din, SeededData.SeedFor(din, 70 + l)), [MlpBatch, din],
                    SeededData.Uniform<T>(MlpBatch * dout, SeededData.SeedFor(dout, 80 + l)), [1, MlpBatch, dout]));
            }
        }
        else
        {
            layers.Add(LayerSpec.Conv2d("conv", Conv.Geometry));
            observations.Add(new Observation("conv", Conv.Input<T>(), Conv.InputShape, Conv.OutputGradients<T>(), Conv.GradientShape));
        }

        var model = new ModelSpec(layers);
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        var parameters = new List<(T[], T[])>();
        int stream = 50;
        foreach (var p in model.Parameters)
        {
            var v = SeededData.Uniform<T>(p.Length, SeededData.SeedFor(p.Length, stream));
            var g = SeededData.Uniform<T>(p.Length, SeededData.SeedFor(p.Length, stream + 100));
            values.Add(p.Name, v, p.Shape);
            gradients.Add(p.Name, g, p.Shape);
            parameters.Add((v, g));
            stream += 5;
        }

        _optimizer = new AdaFisherOptimizer<T>(BenchmarkBackends.Create("managed", 1), model, values, gradients, options);
        _parameters = [.. parameters];
        _observations = [.. observations];
    }

    /// <summary>
    /// The first step must change θ by <c>−lr·(g + wd·θ) / (S_i·H_j + λ)</c> with the optimizer's factors, and in the
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
            var h = _optimizer.InputFactor(o.Layer).ToArray().Select(double.CreateChecked).ToArray();
            var s = _optimizer.OutputFactor(o.Layer).ToArray().Select(double.CreateChecked).ToArray();
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
            var expected = new double[weight.Values.Length + bias.Values.Length];
            var actual = new double[expected.Length];
            for (int k = 0; k < expected.Length; k++)
            {
                bool isBias = k >= weight.Values.Length;
                var p = isBias ? bias : weight;
                int index = isBias ? k - weight.Values.Length : k;
                int i = isBias ? index : index / din, j = isBias ? din : index % din;
                double theta = double.CreateChecked(before[isBias ? (2 * l) + 1 : 2 * l][index]);
                double g = double.CreateChecked(p.Gradient[index]);
                expected[k] = -(options.LearningRate * (g + (options.WeightDecay * theta)) / ((s[i] * h[j]) + options.Damping));
                actual[k] = double.CreateChecked(p.Values[index]) - theta;
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
                    double old = double.CreateChecked(k >= weight.Values.Length ? before[(2 * l) + 1][k - weight.Values.Length] : before[2 * l][k]);
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

    private sealed record Observation(string Layer, T[] Input, int[] InputShape, T[] OutputGradient, int[] GradientShape);
}
