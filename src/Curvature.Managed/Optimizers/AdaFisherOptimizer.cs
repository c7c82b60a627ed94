using System.Numerics;
using System.Runtime.CompilerServices;
using Curvature.AdaFisher;
using Curvature.Backends;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers.Internals;
using Curvature.Parameters;
using Curvature.Serialization;

namespace Curvature.Optimizers;

/// <summary>
/// AdaFisher and AdaFisherW (Gomes, Zhang, Belilovsky, Wolf, Hosseini, "AdaFisher: Adaptive Second Order Optimization via
/// Fisher Information", ICLR 2025): a first moment <c>m ← β m + (1 − β) g</c> preconditioned by a diagonal
/// Kronecker-factored empirical Fisher, <c>d = (m / (1 − β^k)) / F̃</c> with <c>F̃ = S·Hᵀ + λ</c> per layer, then the
/// shared step (<c>θ ← θ − η d</c>; AdaFisherW is decoupled weight decay). Layers observe the gradient of the training
/// loss (V = 1). <see cref="AdaFisherMode.OfficialCompatible"/> reproduces the official code for Linear and Conv2d layers;
/// its normalisation-layer rule is applied to the normalised input this API observes (the official code reads the raw
/// input), and parameters outside those layers get <c>F̃ = 1</c>.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AdaFisherOptimizer<T> : CurvatureOptimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _moment;
    private readonly T[] _momentNext;
    private readonly T[] _corrected;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="backend">The dense kernels.</param>
    /// <param name="model">The layers.</param>
    /// <param name="parameters">The model's parameters by name, updated in place by steps.</param>
    /// <param name="gradients">Where the caller writes each parameter's gradient before a step.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float or double.</exception>
    /// <exception cref="ArgumentException">A parameter or gradient is missing, of another shape or type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public AdaFisherOptimizer(CurvatureBackend backend, ModelSpec model, ParameterSet parameters, ParameterSet gradients, AdaFisherOptimizerOptions? options = null)
        : base(backend, model, parameters, gradients, options ??= new AdaFisherOptimizerOptions(), "Curvature.AdaFisherOptimizer", CreateBlockFactory(options))
    {
        Options = options;
        _moment = new T[model.Dimension];
        _momentNext = new T[model.Dimension];
        _corrected = new T[model.Dimension];
    }

    /// <summary>The settings.</summary>
    public AdaFisherOptimizerOptions Options { get; }

    /// <summary>The first moment <c>m</c> (flat, in <see cref="ModelSpec.Parameters"/> order).</summary>
    public ReadOnlySpan<T> FirstMoment => _moment;

    /// <summary>
    /// The committed input-side factor H of a Linear, Conv2d or (principled mode) Embedding layer, or of a BatchNorm or
    /// LayerNorm layer in official-compatible mode: per input feature with the bias last (Linear, Conv2d), per embedding row
    /// (Embedding), or the pair (scale, shift) of the official normalisation rule. Empty before the first statistics update.
    /// </summary>
    /// <param name="layer">The layer's name.</param>
    /// <exception cref="ArgumentException">No such layer, or the layer has no Kronecker factors in this mode.</exception>
    public ReadOnlySpan<T> InputFactor(string layer)
    {
        var block = FactorBlock(layer);
        return block.UpdateCount == 0 ? [] : Statistics.Slice(block.StatisticsOffset, block.InputFactorLength);
    }

    /// <summary>The committed output-side factor S (one entry per output feature or channel) of the layers
    /// <see cref="InputFactor"/> describes. Empty before the first statistics update.</summary>
    /// <param name="layer">The layer's name.</param>
    /// <exception cref="ArgumentException">No such layer, or the layer has no Kronecker factors in this mode.</exception>
    public ReadOnlySpan<T> OutputFactor(string layer)
    {
        var block = FactorBlock(layer);
        return block.UpdateCount == 0 ? [] : Statistics.Slice(block.StatisticsOffset + block.InputFactorLength, block.OutputFactorLength);
    }

    private protected override int RefreshPeriod => int.MaxValue;

    private protected override long StateBytes => 3L * _moment.Length * Unsafe.SizeOf<T>();

    private AdaFisherLayerBlock<T> FactorBlock(string layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int index = -1;
        for (int i = 0; i < Model.Layers.Count; i++)
        {
            if (Model.Layers[i].Name == layer)
            {
                index = i;
            }
        }

        if (index < 0)
        {
            throw new ArgumentException($"The model has no layer named '{layer}'.", nameof(layer));
        }

        if (Blocks[index] is not AdaFisherLayerBlock<T> block)
        {
            throw new ArgumentException($"Layer '{layer}' ({Model.Layers[index].Kind}) has no AdaFisher Kronecker factors in {Options.Mode} mode.", nameof(layer));
        }

        return block;
    }

    private protected override void ComputeDirection(ReadOnlySpan<T> statistics, ReadOnlySpan<T> gradient, Span<T> direction)
    {
        T beta = T.CreateChecked(Options.Beta), oneMinus = T.CreateChecked(1 - Options.Beta);
        T correction = T.CreateChecked(1 - Math.Pow(Options.Beta, StepCount + 1));
        for (int i = 0; i < _moment.Length; i++)
        {
            T m = (beta * _moment[i]) + (oneMinus * gradient[i]);
            _momentNext[i] = m;
            _corrected[i] = m / correction;
        }

        base.ComputeDirection(statistics, _corrected, direction);
    }

    private protected override void CommitDirectionState() => _momentNext.AsSpan().CopyTo(_moment);

    private protected override void OnReset() => Array.Clear(_moment);

    private protected override void WriteOptimizerState(CheckpointWriter writer)
    {
        writer.WriteString("mode", Options.Mode.ToString());
        writer.WriteValues<T>("firstMoment", _moment);
    }

    private protected override object? ReadOptimizerState(CheckpointReader reader)
    {
        string mode = reader.ReadString("mode");
        if (mode != Options.Mode.ToString())
        {
            throw new CheckpointFormatException($"The checkpoint is for AdaFisher mode {mode}; this optimizer uses {Options.Mode}.");
        }

        var moment = reader.ReadValues<T>("firstMoment", _moment.Length);
        if (!FlatVector.AllFinite<T>(moment))
        {
            throw new CheckpointFormatException("Checkpoint entry 'firstMoment' contains NaN or infinity.");
        }

        return moment;
    }

    private protected override void RestoreOptimizerState(object? state) => ((T[])state!).CopyTo(_moment, 0);

    private static Func<ModelSpec, int, int, int, CurvatureBlock<T>> CreateBlockFactory(AdaFisherOptimizerOptions options)
    {
        bool official = options.Mode == AdaFisherMode.OfficialCompatible;
        return (model, layer, weightOffset, biasOffset) => model.Layers[layer].Kind switch
        {
            LayerKind.Linear or LayerKind.Conv2d => new AdaFisherLayerBlock<T>(model, layer, weightOffset, biasOffset, official, options.OfficialGamma),
            LayerKind.Embedding when !official => new AdaFisherLayerBlock<T>(model, layer, weightOffset, biasOffset, official, options.OfficialGamma),
            LayerKind.BatchNorm or LayerKind.LayerNorm when official => new AdaFisherLayerBlock<T>(model, layer, weightOffset, biasOffset, official, options.OfficialGamma),
            LayerKind.BatchNorm or LayerKind.LayerNorm => new ScaleShiftBlock<T>(model, layer, weightOffset, biasOffset),
            LayerKind.Parameter when !official => new DiagonalParameterBlock<T>(model, layer, weightOffset, options.Reduction == LossReduction.Sum),
            _ => new IdentityBlock<T>(model, layer, weightOffset, biasOffset),
        };
    }
}
