using Curvature.Kfac;
using Curvature.Models;
using Curvature.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Curvature.TorchSharp;

/// <summary>
/// The supported layers and the remaining trainable parameters of a TorchSharp module, found by walking its modules in
/// PyTorch's order (depth first, children in registration order, as <c>named_parameters()</c> lists them).
/// </summary>
/// <remarks>
/// Supported: <c>nn.Linear</c>, <c>nn.Conv2d</c> (zero padding), <c>nn.BatchNorm1d</c>/<c>nn.BatchNorm2d</c> and
/// <c>nn.LayerNorm</c> with a learnable scale, <c>nn.Embedding</c>. A supported layer whose parameters are all frozen
/// (<c>requires_grad</c> false) is left out. Every other trainable parameter is listed in <see cref="GenericParameters"/>
/// with the reason.
/// </remarks>
public sealed class TorchModelDescription
{
    private readonly IReadOnlyList<string> _trainable;

    private TorchModelDescription(IReadOnlyList<TorchLayer> layers, IReadOnlyList<TorchParameter> generic, IReadOnlyList<string> trainable)
    {
        Layers = layers;
        GenericParameters = generic;
        _trainable = trainable;
    }

    /// <summary>The supported layers in module order.</summary>
    public IReadOnlyList<TorchLayer> Layers { get; }

    /// <summary>The trainable parameters outside the supported layers, in <c>named_parameters()</c> order.</summary>
    public IReadOnlyList<TorchParameter> GenericParameters { get; }

    /// <summary>Describes <paramref name="module"/>.</summary>
    /// <exception cref="ArgumentException">The module itself is a supported layer (wrap it in <c>nn.Sequential</c> so its layer has a name).</exception>
    public static TorchModelDescription Describe(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var layers = new List<TorchLayer>();
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        if (TryDescribe(module, "", out _, out _))
        {
            throw new ArgumentException($"The module is itself a {module.GetType().Name}; wrap it in nn.Sequential so that its layer has a name.", nameof(module));
        }

        Walk(module, "", layers, reasons);
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            owned.Add(layer.WeightName);
            owned.Add(layer.BiasName);
        }

        var generic = new List<TorchParameter>();
        var trainable = new List<string>();
        foreach (var (name, p) in module.named_parameters())
        {
            if (!p.requires_grad)
            {
                continue;
            }

            trainable.Add(name);
            if (owned.Contains(name))
            {
                continue;
            }

            int dot = name.LastIndexOf('.');
            string owner = dot < 0 ? "" : name[..dot];
            string reason = reasons.TryGetValue(owner, out var r) ? r : "the module that owns it is not a supported layer type";
            generic.Add(new TorchParameter(name, [.. p.shape.Select(d => checked((int)d))], reason));
        }

        return new TorchModelDescription(layers, generic, trainable);
    }

    /// <summary>The supported layer named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such layer.</exception>
    public TorchLayer Layer(string name) =>
        Layers.FirstOrDefault(l => l.Name == name) ?? throw new KeyNotFoundException($"The module has no supported layer named '{name}'.");

    /// <summary>
    /// The model as Curvature describes it: every trainable parameter, in <c>named_parameters()</c> order, either as part of
    /// its supported layer (<see cref="TorchLayer.ToLayerSpec"/>) or as a <see cref="LayerKind.Parameter"/> of its own
    /// (<see cref="GenericParameters"/>). Parameter names and the flat parameter order are PyTorch's.
    /// </summary>
    /// <param name="separateWeightAndBias">True for separate weight and bias blocks of Linear and Conv2d layers, false for
    /// joint <c>[W | b]</c> blocks.</param>
    /// <exception cref="InvalidOperationException">The module has no trainable parameter.</exception>
    public ModelSpec ToModelSpec(bool separateWeightAndBias = false)
    {
        var layerOf = new Dictionary<string, TorchLayer>(StringComparer.Ordinal);
        foreach (var layer in Layers)
        {
            layerOf[layer.WeightName] = layer;
            if (layer.HasBias)
            {
                layerOf[layer.BiasName] = layer;
            }
        }

        var generic = GenericParameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var specs = new List<LayerSpec>();
        var added = new HashSet<TorchLayer>();
        foreach (var name in _trainable)
        {
            if (layerOf.TryGetValue(name, out var layer))
            {
                if (added.Add(layer))
                {
                    specs.Add(layer.ToLayerSpec());
                }
            }
            else
            {
                specs.Add(LayerSpec.Parameter(name, [.. generic[name].Shape]));
            }
        }

        if (specs.Count == 0)
        {
            throw new InvalidOperationException("The module has no trainable parameter.");
        }

        return new ModelSpec(specs, separateWeightAndBias);
    }

    private static void Walk(nn.Module module, string prefix, List<TorchLayer> layers, Dictionary<string, string> reasons)
    {
        foreach (var (childName, child) in module.named_children())
        {
            string path = prefix.Length == 0 ? childName : prefix + "." + childName;
            if (TryDescribe(child, path, out var layer, out var reason))
            {
                if (layer is not null)
                {
                    layers.Add(layer);
                }
                else
                {
                    reasons[path] = reason ?? "the layer's weight is frozen (requires_grad is false)";
                }
            }
            else
            {
                reasons[path] = $"{child.GetType().Name} is not a supported layer type";
            }

            Walk(child, path, layers, reasons);
        }
    }

    /// <summary>True when the module has a supported type; then either a layer or (unsupported configuration) a reason.</summary>
    private static bool TryDescribe(nn.Module module, string path, out TorchLayer? layer, out string? reason)
    {
        layer = null;
        reason = null;
        switch (module)
        {
            case Linear linear:
                if (Trainable(linear.weight, linear.bias, out bool bias))
                {
                    layer = new TorchLayer(path, TorchLayerKind.Linear, checked((int)linear.in_features), checked((int)linear.out_features), bias,
                        Shape(linear.weight!));
                }

                return true;
            case Conv2d conv:
                if (Trainable(conv.weight, conv.bias, out bool convBias))
                {
                    layer = DescribeConv2d(conv, path, convBias, out reason);
                }

                return true;
            case BatchNorm1d or BatchNorm2d:
                var bn = (BatchNorm)module;
                if (Trainable(bn.weight, bn.bias, out bool bnBias))
                {
                    int c = checked((int)bn.num_features);
                    layer = new TorchLayer(path, module is BatchNorm1d ? TorchLayerKind.BatchNorm1d : TorchLayerKind.BatchNorm2d, c, c, bnBias,
                        Shape(bn.weight!), epsilon: bn.eps, trackRunningStatistics: bn.track_running_stats);
                }
                else if (bn.bias is { requires_grad: true })
                {
                    reason = "a norm layer without a learnable scale (only its shift is trained)";
                }

                return true;
            case LayerNorm ln:
                if (Trainable(ln.weight, ln.bias, out bool lnBias))
                {
                    int[] normalized = [.. ln.normalized_shape.Select(d => checked((int)d))];
                    int size = normalized.Aggregate(1, (a, b) => checked(a * b));
                    layer = new TorchLayer(path, TorchLayerKind.LayerNorm, size, size, lnBias, Shape(ln.weight!), normalizedShape: normalized, epsilon: ln.eps);
                }
                else if (ln.bias is { requires_grad: true })
                {
                    reason = "a norm layer without a learnable scale (only its shift is trained)";
                }

                return true;
            case Embedding embedding:
                if (Trainable(embedding.weight, null, out _))
                {
                    int[] shape = Shape(embedding.weight!);
                    layer = new TorchLayer(path, TorchLayerKind.Embedding, shape[0], shape[1], false, shape);
                }

                return true;
            default:
                return false;
        }
    }

    private static TorchLayer? DescribeConv2d(Conv2d conv, string path, bool bias, out string? reason)
    {
        reason = null;
        if (conv.padding_mode != PaddingModes.Zeros)
        {
            reason = $"Conv2d with padding mode {conv.padding_mode} (only zero padding is supported)";
            return null;
        }

        long[] k = Pair(conv.kernel_size), s = Pair(conv.stride), d = Pair(conv.dilation);
        long[] p;
        switch (conv.padding_type)
        {
            case Padding.Valid:
                p = [0, 0];
                break;
            case Padding.Same:
                long th = d[0] * (k[0] - 1), tw = d[1] * (k[1] - 1);
                if (th % 2 != 0 || tw % 2 != 0)
                {
                    reason = "Conv2d with padding 'same' that pads unevenly (an even kernel extent)";
                    return null;
                }

                p = [th / 2, tw / 2];
                break;
            default:
                p = Pair(conv.padding ?? [0, 0]);
                break;
        }

        var geometry = new Conv2dGeometry(checked((int)conv.in_channels), checked((int)conv.out_channels), (int)k[0], (int)k[1], (int)s[0], (int)s[1],
            (int)p[0], (int)p[1], (int)d[0], (int)d[1], checked((int)conv.groups));
        return new TorchLayer(path, TorchLayerKind.Conv2d, geometry.InChannels, geometry.OutChannels, bias, Shape(conv.weight!), convolution: geometry);
    }

    private static bool Trainable(Parameter? weight, Parameter? bias, out bool hasBias)
    {
        hasBias = bias is { requires_grad: true };
        return weight is { requires_grad: true };
    }

    private static long[] Pair(long[] values) => values.Length == 1 ? [values[0], values[0]] : values;

    private static int[] Shape(Tensor t) => [.. t.shape.Select(d => checked((int)d))];
}
