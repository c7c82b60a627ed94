using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Curvature.Conformance;
using TorchSharp;
using static TorchSharp.torch;
using CaseTensor = Curvature.Conformance.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Curvature.TorchSharp.Tests.Conformance;

/// <summary>
/// Builds a reference case's model in TorchSharp (float64): the module tree from <c>model.architecture</c> (PyTorch's
/// <c>str(model)</c> of an <c>nn.Sequential</c>, nested containers allowed), Linear and Conv2d geometry from
/// <c>model.layers</c>, and the parameter values from <c>params</c>.
/// </summary>
public static partial class CaseModel
{
    /// <summary>Builds the model of a <c>kfac_ekfac</c> case.</summary>
    /// <exception cref="NotSupportedException">The architecture holds a module this builder cannot express in TorchSharp.</exception>
    public static nn.Module<TorchTensor, TorchTensor> Build(ReferenceCase referenceCase)
    {
        ArgumentNullException.ThrowIfNull(referenceCase);
        var root = referenceCase.Root;
        var model = root.GetProperty("model");
        var layers = model.GetProperty("layers").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!, l => l, StringComparer.Ordinal);
        string[] lines = model.GetProperty("architecture").GetString()!.Split('\n');
        int position = 0;
        if (lines[0].Trim() != "Sequential(")
        {
            throw new NotSupportedException($"The architecture must be an nn.Sequential, not '{lines[0].Trim()}'.");
        }

        position = 1;
        var module = ParseSequential(lines, ref position, "", layers);
        if (position != lines.Length)
        {
            throw new NotSupportedException($"Unexpected text after the model: '{lines[position]}'.");
        }

        var parameters = CaseTensor.ListFrom(root.GetProperty("params"));
        var named = module.named_parameters().ToList();
        if (named.Count != parameters.Count)
        {
            throw new InvalidOperationException($"The TorchSharp model has {named.Count} parameters, the case {parameters.Count}.");
        }

        using (no_grad())
        {
            for (int i = 0; i < named.Count; i++)
            {
                var (name, p) = named[i];
                var (refName, value) = parameters[i];
                if (name != refName || !p.shape.SequenceEqual(value.Shape.Select(d => (long)d)))
                {
                    throw new InvalidOperationException($"Parameter {i} is '{name}' [{string.Join(", ", p.shape)}] in TorchSharp but '{refName}' [{string.Join(", ", value.Shape)}] in the case.");
                }

                using var source = tensor(value.Data, [.. value.Shape.Select(d => (long)d)], ScalarType.Float64);
                p.copy_(source);
            }
        }

        return module;
    }

    private static nn.Module<TorchTensor, TorchTensor> ParseSequential(string[] lines, ref int position, string prefix, Dictionary<string, JsonElement> layers)
    {
        var children = new List<(string, nn.Module<TorchTensor, TorchTensor>)>();
        for (; position < lines.Length; position++)
        {
            string line = lines[position].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line == ")")
            {
                position++;
                return nn.Sequential(children);
            }

            var open = ContainerLine().Match(line);
            if (open.Success)
            {
                string name = open.Groups[1].Value;
                if (open.Groups[2].Value != "Sequential")
                {
                    throw new NotSupportedException($"Container module '{open.Groups[2].Value}' cannot be built in TorchSharp by the conformance runner.");
                }

                position++;
                children.Add((name, ParseSequential(lines, ref position, Path(prefix, name), layers)));
                position--;
                continue;
            }

            var leaf = LeafLine().Match(line);
            if (!leaf.Success)
            {
                throw new NotSupportedException($"Cannot read the architecture line '{line}'.");
            }

            string leafName = leaf.Groups[1].Value;
            children.Add((leafName, Leaf(Path(prefix, leafName), leaf.Groups[2].Value, Arguments(leaf.Groups[3].Value), layers)));
        }

        throw new NotSupportedException("The architecture ends inside a container.");
    }

    private static nn.Module<TorchTensor, TorchTensor> Leaf(string path, string type, Dictionary<string, string> args, Dictionary<string, JsonElement> layers)
    {
        switch (type)
        {
            case "Linear":
                {
                    var l = Layer(layers, path, "linear");
                    return nn.Linear(l.GetProperty("in_features").GetInt64(), l.GetProperty("out_features").GetInt64(), l.GetProperty("bias").GetBoolean(), dtype: ScalarType.Float64);
                }

            case "Conv2d":
                {
                    var l = Layer(layers, path, "conv2d");
                    if (args.TryGetValue("padding_mode", out var mode) && mode != "'zeros'")
                    {
                        throw new NotSupportedException($"Conv2d '{path}' pads with {mode}.");
                    }

                    return nn.Conv2d(l.GetProperty("in_channels").GetInt64(), l.GetProperty("out_channels").GetInt64(), Pair(l, "kernel_size"), Pair(l, "stride"),
                        Pair(l, "padding"), Pair(l, "dilation"), PaddingModes.Zeros, l.TryGetProperty("groups", out var g) ? g.GetInt64() : 1,
                        l.GetProperty("bias").GetBoolean(), dtype: ScalarType.Float64);
                }

            case "ReLU":
                return nn.ReLU(); // out of place even for inplace=True: same values, and captured outputs stay intact
            case "Tanh":
                return nn.Tanh();
            case "Sigmoid":
                return nn.Sigmoid();
            case "Identity":
                return nn.Identity();
            case "SiLU":
                return nn.SiLU();
            case "GELU":
                return args.TryGetValue("approximate", out var approx) && approx == "'tanh'" ? nn.GELU(global::TorchSharp.Modules.GELU.Approximate.tanh) : nn.GELU();
            case "ELU":
                return nn.ELU(Number(args, "alpha", 1.0));
            case "LeakyReLU":
                return nn.LeakyReLU(Number(args, "negative_slope", 0.01));
            case "Softplus":
                return nn.Softplus(Number(args, "beta", 1.0), Number(args, "threshold", 20.0));
            case "Flatten":
                return nn.Flatten((long)Number(args, "start_dim", 1), (long)Number(args, "end_dim", -1));
            default:
                throw new NotSupportedException($"Module '{path}' ({type}) cannot be built in TorchSharp by the conformance runner.");
        }
    }

    private static JsonElement Layer(Dictionary<string, JsonElement> layers, string path, string kind)
    {
        if (!layers.TryGetValue(path, out var l) || l.GetProperty("kind").GetString() != kind)
        {
            throw new InvalidOperationException($"The architecture has a {kind} module '{path}' that model.layers does not describe.");
        }

        return l;
    }

    private static (long, long) Pair(JsonElement layer, string property)
    {
        var e = layer.GetProperty(property);
        return e.ValueKind == JsonValueKind.Array ? (e[0].GetInt64(), e[1].GetInt64()) : (e.GetInt64(), e.GetInt64());
    }

    private static double Number(Dictionary<string, string> args, string key, double fallback) =>
        args.TryGetValue(key, out var text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The <c>key=value</c> arguments of a module's repr (positional arguments and tuples are skipped).</summary>
    private static Dictionary<string, string> Arguments(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in KeyValue().Matches(text))
        {
            result[m.Groups[1].Value] = m.Groups[2].Value;
        }

        return result;
    }

    private static string Path(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    [GeneratedRegex(@"^\(([^)]+)\): (\w+)\($")]
    private static partial Regex ContainerLine();

    [GeneratedRegex(@"^\(([^)]+)\): (\w+)\((.*)\)$")]
    private static partial Regex LeafLine();

    [GeneratedRegex(@"(\w+)=('[^']*'|\([^)]*\)|[^,()\s]+)")]
    private static partial Regex KeyValue();
}
