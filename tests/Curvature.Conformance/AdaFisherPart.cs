using System.Globalization;
using System.Text.Json;
using Curvature.Backends;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Conformance;

/// <summary>
/// The <c>adafisher</c> part of the conformance runner: replays an <c>adafisher_replay</c> case step by step
/// (FORMAT.md section 5) with <see cref="AdaFisherOptimizer{T}"/> in official-compatible mode (AdaFisherW: decoupled
/// weight decay), feeding it the stored layer inputs <c>a</c>, output gradients <c>g</c> (V = 1) and parameter gradients,
/// and compares parameters before and after every step, first moments and the factors H_D / S_D (when stored) at 1e-12
/// relative
/// (<c>max|mine − ref| ≤ 1e-12·max(1, max|ref|)</c>).
/// </summary>
public sealed class AdaFisherPart : IConformancePart
{
    /// <summary>Relative tolerance of every comparison.</summary>
    public const double Tolerance = 1e-12;

    /// <inheritdoc />
    public string Name => "adafisher";

    /// <inheritdoc />
    public bool AppliesTo(ReferenceCase referenceCase) => referenceCase.Kind == "adafisher_replay";

    /// <inheritdoc />
    public PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend)
    {
        ArgumentNullException.ThrowIfNull(referenceCase);
        var root = referenceCase.Root;
        var hp = root.GetProperty("hyperparameters");
        string optimizerName = root.GetProperty("optimizer").GetString() ?? "";
        bool decoupled = optimizerName switch
        {
            "AdaFisher" => false,
            "AdaFisherW" => true,
            _ => throw new InvalidOperationException($"Unknown optimizer '{optimizerName}'."),
        };
        var options = AdaFisherOptimizerOptions.Official(
            learningRate: hp.GetProperty("lr").GetDouble(),
            beta: hp.GetProperty("beta").GetDouble(),
            lambda: hp.GetProperty("Lambda").GetDouble(),
            gamma: hp.GetProperty("gamma").GetDouble(),
            tCov: hp.GetProperty("TCov").GetInt32(),
            weightDecay: hp.GetProperty("weight_decay").GetDouble(),
            decoupled: decoupled);

        var initial = Tensor.ListFrom(root.GetProperty("initial_params")).ToDictionary(p => p.Name, p => p.Tensor, StringComparer.Ordinal);
        var registered = new HashSet<string>(StringComparer.Ordinal);
        var layerNames = new List<string>();
        var layers = new List<LayerSpec>();
        foreach (var layer in root.GetProperty("model").GetProperty("layers").EnumerateArray())
        {
            string name = layer.GetProperty("name").GetString()!;
            bool hasBias = layer.TryGetProperty("bias", out var b) && b.ValueKind == JsonValueKind.True;
            int features = initial[name + ".weight"].Length;
            string kind = layer.GetProperty("kind").GetString()!;
            layers.Add(kind switch
            {
                "linear" => LayerSpec.Linear(name, layer.GetProperty("in_features").GetInt32(), layer.GetProperty("out_features").GetInt32(), hasBias),
                "conv2d" => LayerSpec.Conv2d(name, Geometry(layer), hasBias),
                "batchnorm2d" => LayerSpec.BatchNorm(name, features, hasBias),
                "layernorm" => LayerSpec.LayerNorm(name, features, hasBias),
                _ => throw new InvalidOperationException($"Unsupported layer kind '{kind}'."),
            });
            registered.Add(name + ".weight");
            if (hasBias)
            {
                registered.Add(name + ".bias");
            }

            layerNames.Add(name);
        }

        foreach (var name in root.GetProperty("param_order").EnumerateArray().Select(e => e.GetString()!))
        {
            if (!registered.Contains(name))
            {
                layers.Add(LayerSpec.Parameter(name, initial[name].Shape)); // official: F̃ = 1 for parameters outside supported layers
            }
        }

        var model = new ModelSpec(layers);
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        foreach (var p in model.Parameters)
        {
            values.Add(p.Name, (double[])initial[p.Name].Data.Clone(), p.Shape);
            gradients.Add(p.Name, new double[p.Length], p.Shape);
        }

        using var optimizer = new AdaFisherOptimizer<double>(backend, model, values, gradients, options);
        var offsets = model.Parameters.ToDictionary(p => p.Name, p => (p.Offset, p.Length), StringComparer.Ordinal);

        double worst = 0;
        var failures = new List<string>();
        int checks = 0;
        void Compare(string what, ReadOnlySpan<double> mine, Tensor reference)
        {
            checks++;
            if (mine.Length != reference.Length)
            {
                failures.Add($"{what}: length {mine.Length} vs {reference.Length}");
                worst = double.NaN;
                return;
            }

            double maxRef = 0, maxDiff = 0;
            for (int i = 0; i < mine.Length; i++)
            {
                maxRef = Math.Max(maxRef, Math.Abs(reference.Data[i]));
                double diff = Math.Abs(mine[i] - reference.Data[i]);
                maxDiff = double.IsNaN(diff) ? double.PositiveInfinity : Math.Max(maxDiff, diff);
            }

            double rel = maxDiff / Math.Max(1, maxRef);
            worst = double.IsNaN(worst) ? worst : Math.Max(worst, rel);
            if (!(rel <= Tolerance))
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{what}: rel {rel:0.###e+00}"));
            }
        }

        foreach (var step in root.GetProperty("steps").EnumerateArray())
        {
            int t = step.GetProperty("t").GetInt32();
            foreach (var (name, tensor) in Tensor.ListFrom(step.GetProperty("params_before")))
            {
                Compare($"step{t}/params_before/{name}", values.Get<double>(name).Span, tensor);
            }

            foreach (var (name, tensor) in Tensor.ListFrom(step.GetProperty("grads")))
            {
                tensor.Data.CopyTo(gradients.Get<double>(name).Span);
            }

            bool updated = step.GetProperty("factors_updated").GetBoolean();
            if (optimizer.NeedsObservations != updated)
            {
                failures.Add($"step{t}: factors_updated is {updated} but the optimizer says {optimizer.NeedsObservations}");
            }

            var stepLayers = step.GetProperty("layers");
            if (optimizer.NeedsObservations)
            {
                foreach (var name in layerNames)
                {
                    var entry = stepLayers.GetProperty(name);
                    var a = Tensor.From(entry.GetProperty("a"));
                    var gOut = Tensor.From(entry.GetProperty("g"));
                    optimizer.Observe(name, a.Data, a.Shape, gOut.Data, [1, .. gOut.Shape]); // V = 1: the loss gradient
                }
            }

            optimizer.Step(double.NaN); // fixed damping: the loss is not needed

            foreach (var name in layerNames)
            {
                if (!stepLayers.TryGetProperty(name, out var entry))
                {
                    continue;
                }

                if (entry.TryGetProperty("H_D", out var hd) && hd.ValueKind == JsonValueKind.Object)
                {
                    Compare($"step{t}/{name}/H_D", optimizer.InputFactor(name), Tensor.From(hd));
                }

                if (entry.TryGetProperty("S_D", out var sd) && sd.ValueKind == JsonValueKind.Object)
                {
                    Compare($"step{t}/{name}/S_D", optimizer.OutputFactor(name), Tensor.From(sd));
                }
            }

            foreach (var (name, tensor) in Tensor.ListFrom(step.GetProperty("exp_avg_after")))
            {
                var (offset, length) = offsets[name];
                Compare($"step{t}/exp_avg/{name}", optimizer.FirstMoment.Slice(offset, length), tensor);
            }

            foreach (var (name, tensor) in Tensor.ListFrom(step.GetProperty("params_after")))
            {
                Compare($"step{t}/params_after/{name}", values.Get<double>(name).Span, tensor);
            }
        }

        return failures.Count == 0
            ? new PartResult(true, worst, $"{checks} checks")
            : new PartResult(false, worst, $"{failures.Count} of {checks} checks failed, first: {string.Join("; ", failures.Take(3))}");
    }

    private static Conv2dGeometry Geometry(JsonElement layer)
    {
        var k = Pair(layer, "kernel_size");
        var s = Pair(layer, "stride");
        var p = Pair(layer, "padding");
        var d = Pair(layer, "dilation");
        int groups = layer.TryGetProperty("groups", out var g) ? g.GetInt32() : 1;
        return new Conv2dGeometry(layer.GetProperty("in_channels").GetInt32(), layer.GetProperty("out_channels").GetInt32(), k.A, k.B, s.A, s.B, p.A, p.B, d.A, d.B, groups);
    }

    private static (int A, int B) Pair(JsonElement layer, string property)
    {
        if (!layer.TryGetProperty(property, out var e))
        {
            return (1, 1);
        }

        if (e.ValueKind == JsonValueKind.Number)
        {
            return (e.GetInt32(), e.GetInt32());
        }

        var values = e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        return values.Length == 1 ? (values[0], values[0]) : (values[0], values[1]);
    }
}
