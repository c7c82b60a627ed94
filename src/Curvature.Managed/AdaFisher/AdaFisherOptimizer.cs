using System.Numerics;
using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.AdaFisher.Internals;
using Curvature.Backends;
using Curvature.BlockFisher;
using Curvature.Layers;
using Curvature.Serialization;

namespace Curvature.AdaFisher;

/// <summary>
/// AdaFisher and AdaFisherW (Gomes, Zhang, Belilovsky, Wolf, Hosseini, "AdaFisher: Adaptive Second Order Optimization
/// via Fisher Information", ICLR 2025): a first-moment optimizer preconditioned by a diagonal Kronecker-factored
/// empirical Fisher <c>F̃ = S·Hᵀ + Λ</c> per layer, built from the layer inputs (H, with a bias feature) and the
/// gradients at the layer outputs (S).
/// </summary>
/// <remarks>
/// <para>Usage per training step: when <see cref="NeedsLayerStatistics"/> is true, call <see cref="Observe"/> once per
/// registered layer with the layer's input and the gradient arriving at its output (as a framework's forward and
/// backward hooks see them); write every parameter's gradient into its <see cref="AdaFisherParameter{T}.Gradient"/>;
/// call <see cref="Step"/>. Parameters are matched to layers explicitly: each layer is registered with its own weight
/// (and bias) parameters, never by position or shape.</para>
/// <para>Two factor rules, chosen by <see cref="AdaFisherOptions.Mode"/>: <see cref="AdaFisherMode.Principled"/> (the
/// default) and <see cref="AdaFisherMode.OfficialCompatible"/> (bit-for-bit the official code, including its min–max
/// normalisation, its running-average constants γ/10 and γ/100 with factors starting at ones, and its Conv2d
/// normalisation by <c>N·L·d</c>). The update, with <c>k</c> the parameter's step count:
/// AdaFisher <c>g ← g + wd·θ; m ← βm + (1−β)g; θ ← θ − (lr/(1−β^k))·m/F̃</c>;
/// AdaFisherW <c>m ← βm + (1−β)g; θ ← θ − lr·(m/(1−β^k)/F̃ + wd·θ)</c>.</para>
/// <para>Parameters registered without a layer (<see cref="AddParameter"/>) are preconditioned by a
/// <see cref="BlockDiagonalFisher{T}"/> in principled mode and by <c>F̃ = 1</c> in official mode (as the official code
/// does for parameters it cannot match). A rejected <see cref="Observe"/> or <see cref="Step"/> (bad shape, non-finite
/// value, missing statistics) leaves every piece of state unchanged. Steady-state steps allocate nothing. An instance is
/// not thread-safe.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AdaFisherOptimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const string CheckpointKind = "Curvature.AdaFisher";
    private readonly CurvatureBackend _backend;
    private readonly List<AdaFisherLayer<T>> _layers = [];
    private readonly Dictionary<string, int> _layerIndex = new(StringComparer.Ordinal);
    private readonly List<ParameterState> _parameters = [];
    private readonly Dictionary<string, int> _parameterIndex = new(StringComparer.Ordinal);
    private double _learningRate;

    /// <summary>Creates an optimizer with no layers; register layers and parameters before the first step.</summary>
    /// <exception cref="ArgumentNullException">A reference argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public AdaFisherOptimizer(CurvatureBackend backend, AdaFisherOptions options, AdaFisherVariant variant = AdaFisherVariant.AdaFisher)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!Enum.IsDefined(variant))
        {
            throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown variant.");
        }

        _backend = backend;
        Options = options;
        Variant = variant;
        _learningRate = options.LearningRate;
    }

    /// <summary>The options the optimizer was created with (the learning rate may since have been changed).</summary>
    public AdaFisherOptions Options { get; }

    /// <summary>AdaFisher (coupled L2) or AdaFisherW (decoupled weight decay).</summary>
    public AdaFisherVariant Variant { get; }

    /// <summary>The current learning rate (initially <see cref="AdaFisherOptions.LearningRate"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!double.IsFinite(value) || value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be finite and non-negative.");
            }

            _learningRate = value;
        }
    }

    /// <summary>Number of completed steps (the official <c>steps</c>).</summary>
    public long StepCount { get; private set; }

    /// <summary>True when the next <see cref="Step"/> refreshes the factors, so every layer must be observed first.</summary>
    public bool NeedsLayerStatistics => StepCount % Options.FisherUpdateFrequency == 0;

    /// <summary>Names of the registered layers, in registration order.</summary>
    public IEnumerable<string> LayerNames => _layers.Select(l => l.Name);

    /// <summary>Names of the registered parameters, in registration order.</summary>
    public IEnumerable<string> ParameterNames => _parameters.Select(p => p.Parameter.Name);

    /// <summary>Bytes of optimizer state: factors, raw statistics, first moments, block Fishers and scratch.</summary>
    public long MemoryUsageBytes
    {
        get
        {
            long elements = 0;
            foreach (var l in _layers)
            {
                elements += l.StateElements;
            }

            long bytes = 0;
            foreach (var p in _parameters)
            {
                elements += p.ExpAvg.Length + p.Scratch.Length;
                bytes += p.Block?.MemoryBytes ?? 0;
            }

            return bytes + (elements * Unsafe.SizeOf<T>());
        }
    }

    /// <summary>Registers a Linear layer <c>y = W x + b</c> with <c>W</c> of shape <c>[outFeatures, inFeatures]</c>.</summary>
    /// <exception cref="ArgumentException">Duplicate name, parameter already registered, or parameter sizes that do not fit.</exception>
    /// <exception cref="InvalidOperationException">The optimizer has already stepped.</exception>
    public void AddLinear(string name, int inFeatures, int outFeatures, AdaFisherParameter<T> weight, AdaFisherParameter<T>? bias = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        AddLayer(name, AdaFisherLayerKind.Linear, inFeatures, outFeatures, null, weight, bias, (long)inFeatures * outFeatures, outFeatures);
    }

    /// <summary>Registers a Conv2d layer with weight <c>[C_out, C_in/groups, kh, kw]</c> and optional bias <c>[C_out]</c>.</summary>
    /// <exception cref="ArgumentException">Duplicate name, parameter already registered, or parameter sizes that do not fit.</exception>
    /// <exception cref="InvalidOperationException">The optimizer has already stepped.</exception>
    public void AddConv2d(string name, Conv2dGeometry geometry, AdaFisherParameter<T> weight, AdaFisherParameter<T>? bias = null)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        AddLayer(name, AdaFisherLayerKind.Conv2d, geometry.PatchSize, geometry.OutChannels, geometry, weight, bias, (long)geometry.PatchSize * geometry.OutChannels, geometry.OutChannels);
    }

    /// <summary>Registers a BatchNorm2d layer with scale (weight) and shift (bias) of <paramref name="channels"/> entries.</summary>
    /// <exception cref="ArgumentException">Duplicate name, parameter already registered, or parameter sizes that do not fit.</exception>
    /// <exception cref="InvalidOperationException">The optimizer has already stepped.</exception>
    public void AddBatchNorm2d(string name, int channels, AdaFisherParameter<T> weight, AdaFisherParameter<T>? bias = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        AddLayer(name, AdaFisherLayerKind.BatchNorm2d, 1, channels, null, weight, bias, channels, channels);
    }

    /// <summary>Registers a LayerNorm over the last axis (<paramref name="features"/> entries) with scale and shift.</summary>
    /// <exception cref="ArgumentException">Duplicate name, parameter already registered, or parameter sizes that do not fit.</exception>
    /// <exception cref="InvalidOperationException">The optimizer has already stepped.</exception>
    public void AddLayerNorm(string name, int features, AdaFisherParameter<T> weight, AdaFisherParameter<T>? bias = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        AddLayer(name, AdaFisherLayerKind.LayerNorm, 1, features, null, weight, bias, features, features);
    }

    /// <summary>Registers a parameter without layer structure (block-diagonal empirical Fisher in principled mode, <c>F̃ = 1</c> in official mode).</summary>
    /// <exception cref="ArgumentException">The parameter name is already registered.</exception>
    /// <exception cref="InvalidOperationException">The optimizer has already stepped.</exception>
    public void AddParameter(AdaFisherParameter<T> parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        EnsureNotStarted();
        EnsureNewParameter(parameter, nameof(parameter));
        BlockDiagonalFisher<T>? block = Options.Mode == AdaFisherMode.Principled
            ? new BlockDiagonalFisher<T>(_backend, parameter.Length, new BlockFisherOptions
            {
                BlockSize = Options.BlockSize,
                MaxBlocks = Options.MaxBlocks,
                Decay = Options.FisherDecay,
                Damping = Options.Epsilon,
            })
            : null;
        AddParameterState(new ParameterState(parameter, -1, false, block));
    }

    /// <summary>
    /// Records a layer's input and output gradient for the next factor refresh. Ignored (returns false) on steps that do
    /// not refresh the factors.
    /// </summary>
    /// <param name="layerName">The registered layer.</param>
    /// <param name="input">The layer input, row-major: Linear <c>[..., D_in]</c>; Conv2d and BatchNorm2d <c>[N, C, H, W]</c>; LayerNorm <c>[N, T, ..., D]</c>.</param>
    /// <param name="inputShape">The shape of <paramref name="input"/>; axis 0 is the batch.</param>
    /// <param name="outputGradient">The gradient of the loss at the layer output, same leading axes (Conv2d <c>[N, C_out, OH, OW]</c>).</param>
    /// <returns>True when the statistics were recorded (a second observation of the same layer before
    /// <see cref="Step"/> replaces the first).</returns>
    /// <exception cref="ArgumentException">Unknown layer, shapes that do not match the layer, or a non-finite value.</exception>
    public bool Observe(string layerName, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> outputGradient)
    {
        ArgumentNullException.ThrowIfNull(layerName);
        if (!_layerIndex.TryGetValue(layerName, out int index))
        {
            throw new ArgumentException($"No layer named '{layerName}' is registered.", nameof(layerName));
        }

        var layer = _layers[index];
        long inputCount = ShapeProduct(inputShape, layer.Kind);
        if (inputCount != input.Length)
        {
            throw new ArgumentException($"The input holds {input.Length} values but its shape says {inputCount}.", nameof(input));
        }

        int batch = inputShape[0];
        bool principled = Options.Mode == AdaFisherMode.Principled;
        T scale = principled && Options.OutputGradientsFromMeanLoss ? T.CreateChecked((long)batch * batch) : T.One;
        switch (layer.Kind)
        {
            case AdaFisherLayerKind.Linear:
            {
                if (inputShape[^1] != layer.InputFeatures)
                {
                    throw new ArgumentException($"Layer '{layer.Name}' expects {layer.InputFeatures} input features, but the last axis is {inputShape[^1]}.", nameof(inputShape));
                }

                int rows = (int)(inputCount / layer.InputFeatures);
                EnsureGradientLength(outputGradient, (long)rows * layer.OutputFeatures);
                EnsureFinite(input, nameof(input));
                EnsureFinite(outputGradient, nameof(outputGradient));
                if (!NeedsLayerStatistics)
                {
                    return false;
                }

                T divisor = principled ? T.CreateChecked(batch) : T.CreateChecked(rows);
                AdaFisherStatistics.Linear(input, outputGradient, rows, layer.InputFeatures, layer.OutputFeatures, layer.HasBias, divisor, scale, layer.PendingH, layer.PendingS);
                break;
            }

            case AdaFisherLayerKind.Conv2d:
            {
                var geometry = layer.Geometry!;
                EnsureRank(inputShape, 4);
                if (inputShape[1] != geometry.InChannels)
                {
                    throw new ArgumentException($"Layer '{layer.Name}' expects {geometry.InChannels} input channels, but axis 1 is {inputShape[1]}.", nameof(inputShape));
                }

                int height = inputShape[2], width = inputShape[3];
                int oh = geometry.OutputHeight(height), ow = geometry.OutputWidth(width);
                var perGroup = layer.PatchGeometry!;
                int poh = perGroup.OutputHeight(height), pow = perGroup.OutputWidth(width);
                if (oh < 1 || ow < 1 || poh < 1 || pow < 1)
                {
                    throw new ArgumentException($"The kernel of layer '{layer.Name}' does not fit the padded {height} × {width} input.", nameof(inputShape));
                }

                EnsureGradientLength(outputGradient, (long)batch * geometry.OutChannels * oh * ow);
                EnsureFinite(input, nameof(input));
                EnsureFinite(outputGradient, nameof(outputGradient));
                if (!NeedsLayerStatistics)
                {
                    return false;
                }

                int patchValues = poh * pow * perGroup.PatchSize;
                if (layer.Patches.Length < patchValues)
                {
                    layer.Patches = new T[patchValues];
                }

                // Official S divides by N·OH·OW; principled by N (sum over locations, mean over examples).
                T sDivisor = principled ? T.CreateChecked(batch) : T.CreateChecked((long)batch * oh * ow);
                AdaFisherStatistics.Conv2d(input, outputGradient, batch, height, width, perGroup, geometry.Groups, geometry.OutChannels, oh * ow, layer.HasBias, !principled, sDivisor, scale, layer.Patches, layer.PendingH, layer.PendingS);
                break;
            }

            case AdaFisherLayerKind.BatchNorm2d:
            {
                EnsureRank(inputShape, 4);
                if (inputShape[1] != layer.OutputFeatures)
                {
                    throw new ArgumentException($"Layer '{layer.Name}' expects {layer.OutputFeatures} channels, but axis 1 is {inputShape[1]}.", nameof(inputShape));
                }

                EnsureGradientLength(outputGradient, inputCount);
                EnsureFinite(input, nameof(input));
                EnsureFinite(outputGradient, nameof(outputGradient));
                if (!NeedsLayerStatistics)
                {
                    return false;
                }

                AdaFisherStatistics.BatchNorm2d(input, outputGradient, batch, layer.OutputFeatures, inputShape[2] * inputShape[3], scale, layer.PendingH, layer.PendingS);
                break;
            }

            default: // LayerNorm
            {
                if (inputShape.Length < 2 || inputShape[^1] != layer.OutputFeatures)
                {
                    throw new ArgumentException($"Layer '{layer.Name}' normalises {layer.OutputFeatures} features over the last axis of an input with at least 2 axes.", nameof(inputShape));
                }

                EnsureGradientLength(outputGradient, inputCount);
                EnsureFinite(input, nameof(input));
                EnsureFinite(outputGradient, nameof(outputGradient));
                if (!NeedsLayerStatistics)
                {
                    return false;
                }

                int rest = (int)(inputCount / ((long)batch * inputShape[1]));
                AdaFisherStatistics.LayerNorm(input, outputGradient, batch, inputShape[1], rest, layer.OutputFeatures, scale, layer.PendingH, layer.PendingS);
                break;
            }
        }

        layer.HasPending = true;
        return true;
    }

    /// <summary>
    /// Gives per-example gradients (one row per example, e.g. of the per-example losses) of a parameter registered with
    /// <see cref="AddParameter"/>, so its block Fisher is estimated as <c>(1/N) Σ_n g_n g_nᵀ</c> (BLAS <c>?SYRK</c>)
    /// instead of the outer product of the step's gradient. Principled mode only; ignored (returns false) on steps
    /// that do not refresh the Fisher.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown parameter, wrong width, no rows, or a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">The parameter has no block Fisher (it belongs to a layer, or the mode is official).</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped block failed to factor (state unchanged).</exception>
    public bool ObservePerExampleGradients(string parameterName, ReadOnlySpan2D<T> perExampleGradients)
    {
        var p = Parameter(parameterName);
        if (p.Block is null)
        {
            throw new InvalidOperationException($"Parameter '{parameterName}' has no block-diagonal Fisher (it belongs to a layer, or the mode is official-compatible).");
        }

        if (perExampleGradients.Width != p.Parameter.Length || perExampleGradients.Height < 1)
        {
            throw new ArgumentException($"Per-example gradients of '{parameterName}' must be N × {p.Parameter.Length} with N ≥ 1.", nameof(perExampleGradients));
        }

        if (!NeedsLayerStatistics)
        {
            return false;
        }

        p.BlockStaged = false;
        p.Block.StagePerExample(perExampleGradients);
        p.BlockStaged = true;
        return true;
    }

    /// <summary>
    /// One optimizer step: refreshes the factors from the observed statistics when <see cref="NeedsLayerStatistics"/>,
    /// then updates every parameter in place from its gradient.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is registered, or a layer was not observed on a refresh step.</exception>
    /// <exception cref="ArgumentException">A gradient holds a non-finite value.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A block Fisher failed to factor.</exception>
    /// <remarks>Nothing changes when an exception is thrown.</remarks>
    public void Step()
    {
        if (_parameters.Count == 0)
        {
            throw new InvalidOperationException("No parameters are registered.");
        }

        bool refresh = NeedsLayerStatistics;
        if (refresh)
        {
            foreach (var layer in _layers)
            {
                if (!layer.HasPending)
                {
                    throw new InvalidOperationException($"Step {StepCount} refreshes the factors, but layer '{layer.Name}' was not observed.");
                }
            }
        }

        foreach (var p in _parameters)
        {
            var grad = p.Parameter.Gradient.Span;
            for (int i = 0; i < grad.Length; i++)
            {
                if (!T.IsFinite(grad[i]))
                {
                    throw new ArgumentException($"The gradient of '{p.Parameter.Name}' holds a non-finite value at {i} ({grad[i]}).");
                }
            }
        }

        if (refresh)
        {
            foreach (var p in _parameters)
            {
                if (p.Block is not null && !p.BlockStaged)
                {
                    p.Block.StageUpdate(p.Parameter.Gradient.Span); // may throw: nothing committed yet
                }
            }

            foreach (var p in _parameters)
            {
                if (p.Block is not null)
                {
                    p.Block.CommitStaged();
                    p.BlockStaged = false;
                }
            }

            foreach (var layer in _layers)
            {
                RefreshFactors(layer);
            }
        }

        foreach (var p in _parameters)
        {
            UpdateParameter(p);
        }

        StepCount++;
    }

    /// <summary>The input-side factor H of a layer (bias feature last; BatchNorm2d/LayerNorm: [weight, bias]).</summary>
    /// <exception cref="ArgumentException">Unknown layer.</exception>
    public ReadOnlySpan<T> GetInputFactor(string layerName) => Layer(layerName).H;

    /// <summary>The output-side factor S of a layer.</summary>
    /// <exception cref="ArgumentException">Unknown layer.</exception>
    public ReadOnlySpan<T> GetOutputFactor(string layerName) => Layer(layerName).S;

    /// <summary>The first moment (<c>exp_avg</c>) of a parameter.</summary>
    /// <exception cref="ArgumentException">Unknown parameter.</exception>
    public ReadOnlySpan<T> GetFirstMoment(string parameterName) => Parameter(parameterName).ExpAvg;

    /// <summary>The block-diagonal Fisher of an unstructured parameter in principled mode, else null.</summary>
    /// <exception cref="ArgumentException">Unknown parameter.</exception>
    public BlockDiagonalFisher<T>? GetBlockFisher(string parameterName) => Parameter(parameterName).Block;

    /// <summary>Per-parameter statistics: block count, number of Fisher refreshes, average block size.</summary>
    /// <exception cref="ArgumentException">Unknown parameter.</exception>
    public AdaFisherParameterStatistics GetStatistics(string parameterName)
    {
        var p = Parameter(parameterName);
        if (p.LayerIndex >= 0)
        {
            return new AdaFisherParameterStatistics(1, _layers[p.LayerIndex].UpdateCount, p.Parameter.Length);
        }

        if (p.Block is { } block)
        {
            int blocks = block.BlockCount + block.DiagonalCount;
            return new AdaFisherParameterStatistics(blocks, block.UpdateCount, (double)p.Parameter.Length / blocks);
        }

        return new AdaFisherParameterStatistics(0, 0, 0);
    }

    /// <summary>Statistics of every parameter, by name.</summary>
    public IReadOnlyDictionary<string, AdaFisherParameterStatistics> GetAllStatistics() =>
        _parameters.ToDictionary(p => p.Parameter.Name, p => GetStatistics(p.Parameter.Name), StringComparer.Ordinal);

    /// <summary>Forgets all curvature and moments: factors, block Fishers, first moments and step counts (the learning rate is kept).</summary>
    public void Reset()
    {
        foreach (var layer in _layers)
        {
            Array.Clear(layer.H);
            Array.Clear(layer.S);
            layer.UpdateCount = 0;
            layer.HasPending = false;
        }

        foreach (var p in _parameters)
        {
            Array.Clear(p.ExpAvg);
            p.Steps = 0;
            p.Block?.Clear();
            p.BlockStaged = false;
        }

        StepCount = 0;
    }

    /// <summary>
    /// Writes the whole state (the state dictionary: learning rate, step counts, factors H and S with their refresh
    /// counts, first moments, block Fishers) as a versioned, CRC-checked checkpoint.
    /// </summary>
    public void SaveState(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var w = new CheckpointWriter(destination, CheckpointKind, 1);
        w.WriteString("variant", Variant.ToString());
        w.WriteString("mode", Options.Mode.ToString());
        w.WriteString("valueType", typeof(T).Name);
        w.WriteDouble("learningRate", _learningRate);
        w.WriteInt64("steps", StepCount);
        w.WriteInt32("layers", _layers.Count);
        foreach (var layer in _layers)
        {
            w.WriteString("layer", layer.Name);
            w.WriteString("kind", layer.Kind.ToString());
            w.WriteInt64("factorUpdates", layer.UpdateCount);
            w.WriteValues<T>("H", layer.H);
            w.WriteValues<T>("S", layer.S);
        }

        w.WriteInt32("parameters", _parameters.Count);
        foreach (var p in _parameters)
        {
            w.WriteString("parameter", p.Parameter.Name);
            w.WriteInt64("parameterSteps", p.Steps);
            w.WriteValues<T>("expAvg", p.ExpAvg);
            w.WriteBoolean("hasBlockFisher", p.Block is not null);
            p.Block?.WriteTo(w, "block.");
        }

        w.Complete();
    }

    /// <summary>Restores a state written by <see cref="SaveState"/> for the same registered layers and parameters.</summary>
    /// <exception cref="CheckpointFormatException">The checkpoint is truncated, corrupted, or does not match this
    /// optimizer (variant, mode, value type, layers, parameters, sizes); the optimizer is then left unchanged.</exception>
    public void LoadState(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var r = CheckpointReader.Open(source, CheckpointKind, 1);
        Expect(r.ReadString("variant"), Variant.ToString(), "variant");
        Expect(r.ReadString("mode"), Options.Mode.ToString(), "mode");
        Expect(r.ReadString("valueType"), typeof(T).Name, "value type");
        double lr = r.ReadDouble("learningRate");
        if (!double.IsFinite(lr) || lr < 0)
        {
            throw new CheckpointFormatException($"Invalid learning rate {lr} in the checkpoint.");
        }

        long steps = r.ReadInt64("steps");
        if (steps < 0)
        {
            throw new CheckpointFormatException("Negative step count in the checkpoint.");
        }

        int layerCount = r.ReadInt32("layers");
        if (layerCount != _layers.Count)
        {
            throw new CheckpointFormatException($"The checkpoint holds {layerCount} layers; this optimizer has {_layers.Count}.");
        }

        var layerState = new (long Updates, T[] H, T[] S)[layerCount];
        for (int i = 0; i < layerCount; i++)
        {
            var layer = _layers[i];
            Expect(r.ReadString("layer"), layer.Name, "layer name");
            Expect(r.ReadString("kind"), layer.Kind.ToString(), $"kind of layer '{layer.Name}'");
            long updates = r.ReadInt64("factorUpdates");
            var h = r.ReadValues<T>("H", layer.H.Length);
            var s = r.ReadValues<T>("S", layer.S.Length);
            if (updates < 0 || !AllFiniteNonNegative(h) || !AllFiniteNonNegative(s))
            {
                throw new CheckpointFormatException($"Invalid factors for layer '{layer.Name}' in the checkpoint.");
            }

            layerState[i] = (updates, h, s);
        }

        int parameterCount = r.ReadInt32("parameters");
        if (parameterCount != _parameters.Count)
        {
            throw new CheckpointFormatException($"The checkpoint holds {parameterCount} parameters; this optimizer has {_parameters.Count}.");
        }

        var parameterState = new (long Steps, T[] ExpAvg, BlockDiagonalFisher<T>.PendingState? Block)[parameterCount];
        for (int i = 0; i < parameterCount; i++)
        {
            var p = _parameters[i];
            Expect(r.ReadString("parameter"), p.Parameter.Name, "parameter name");
            long pSteps = r.ReadInt64("parameterSteps");
            var expAvg = r.ReadValues<T>("expAvg", p.ExpAvg.Length);
            if (pSteps < 0 || !expAvg.All(T.IsFinite))
            {
                throw new CheckpointFormatException($"Invalid moments for parameter '{p.Parameter.Name}' in the checkpoint.");
            }

            bool hasBlock = r.ReadBoolean("hasBlockFisher");
            if (hasBlock != (p.Block is not null))
            {
                throw new CheckpointFormatException($"The checkpoint's block Fisher for '{p.Parameter.Name}' does not match this optimizer.");
            }

            parameterState[i] = (pSteps, expAvg, p.Block?.ReadFrom(r, "block."));
        }

        r.EnsureAtEnd();

        // Everything read and checked: commit.
        _learningRate = lr;
        StepCount = steps;
        for (int i = 0; i < layerCount; i++)
        {
            var layer = _layers[i];
            (layer.UpdateCount, layer.H, layer.S) = layerState[i];
            layer.HasPending = false;
        }

        for (int i = 0; i < parameterCount; i++)
        {
            var p = _parameters[i];
            p.Steps = parameterState[i].Steps;
            p.BlockStaged = false;
            parameterState[i].ExpAvg.CopyTo(p.ExpAvg, 0);
            if (parameterState[i].Block is { } pending)
            {
                p.Block!.Commit(pending);
            }
        }
    }

    private void RefreshFactors(AdaFisherLayer<T> layer)
    {
        if (Options.Mode == AdaFisherMode.OfficialCompatible)
        {
            // Official update_running_avg: F ← (γ·0.1)·F + (γ·0.01)·MinMax(F̂), F = ones at the first refresh.
            T keep = T.CreateChecked(Options.FisherDecay * 1e-1);
            T add = T.CreateChecked(Options.FisherDecay * 1e-2);
            OfficialRunningAverage(layer.H, layer.PendingH, layer.UpdateCount == 0, keep, add);
            OfficialRunningAverage(layer.S, layer.PendingS, layer.UpdateCount == 0, keep, add);
        }
        else
        {
            T gamma = T.CreateChecked(Options.FisherDecay);
            T oneMinus = T.CreateChecked(1 - Options.FisherDecay);
            ExponentialAverage(layer.H, layer.PendingH, layer.UpdateCount == 0, gamma, oneMinus);
            ExponentialAverage(layer.S, layer.PendingS, layer.UpdateCount == 0, gamma, oneMinus);
        }

        layer.UpdateCount++;
        layer.HasPending = false;
    }

    private static void OfficialRunningAverage(T[] current, T[] raw, bool first, T keep, T add)
    {
        AdaFisherStatistics.MinMaxNormalize<T>(raw);
        if (first)
        {
            Array.Fill(current, T.One);
        }

        for (int i = 0; i < current.Length; i++)
        {
            current[i] *= keep;
            current[i] += add * raw[i];
        }
    }

    private static void ExponentialAverage(T[] current, T[] raw, bool first, T gamma, T oneMinus)
    {
        for (int i = 0; i < current.Length; i++)
        {
            current[i] = first ? raw[i] : (gamma * current[i]) + (oneMinus * raw[i]);
        }
    }

    private void UpdateParameter(ParameterState p)
    {
        var values = p.Parameter.Values.Span;
        var grad = p.Parameter.Gradient.Span;
        var m = p.ExpAvg;
        p.Steps++;
        double betaD = Options.Beta;
        T beta = T.CreateChecked(betaD);
        T oneMinusBeta = T.CreateChecked(1 - betaD);
        double biasCorrection = Options.BiasCorrection ? 1 - Math.Pow(betaD, p.Steps) : 1;
        T wd = T.CreateChecked(Options.WeightDecay);
        bool coupled = Variant == AdaFisherVariant.AdaFisher;
        bool hasDecay = Options.WeightDecay != 0;
        T lambda = T.CreateChecked(Options.Epsilon);

        for (int i = 0; i < m.Length; i++)
        {
            T g = coupled && hasDecay ? grad[i] + (wd * values[i]) : grad[i];
            m[i] *= beta;
            m[i] += oneMinusBeta * g;
        }

        if (p.Block is { } block)
        {
            // Principled unstructured parameter: u = (F + λI)⁻¹ m̂.
            T bc = T.CreateChecked(biasCorrection);
            var scratch = p.Scratch.AsSpan();
            for (int i = 0; i < m.Length; i++)
            {
                scratch[i] = m[i] / bc;
            }

            block.Apply(scratch, scratch);
            T lr = T.CreateChecked(_learningRate);
            for (int i = 0; i < m.Length; i++)
            {
                values[i] -= coupled ? lr * scratch[i] : lr * (scratch[i] + (wd * values[i]));
            }

            return;
        }

        var rule = new UpdateRule(coupled, T.CreateChecked(-(_learningRate / biasCorrection)), T.CreateChecked(_learningRate), T.CreateChecked(biasCorrection), wd);
        if (p.LayerIndex < 0)
        {
            for (int k = 0; k < m.Length; k++)
            {
                values[k] = rule.Apply(values[k], m[k], T.One);
            }

            return;
        }

        var layer = _layers[p.LayerIndex];
        var h = layer.H;
        var s = layer.S;
        bool norm = layer.Kind is AdaFisherLayerKind.BatchNorm2d or AdaFisherLayerKind.LayerNorm;
        if (norm)
        {
            T hj = p.IsBias ? h[1] : h[0];
            for (int c = 0; c < s.Length; c++)
            {
                values[c] = rule.Apply(values[c], m[c], (s[c] * hj) + lambda);
            }

            return;
        }

        if (p.IsBias)
        {
            T hb = h[layer.InputFeatures];
            for (int i = 0; i < s.Length; i++)
            {
                values[i] = rule.Apply(values[i], m[i], (hb * s[i]) + lambda);
            }

            return;
        }

        int d = layer.InputFeatures;
        for (int i = 0; i < s.Length; i++)
        {
            T si = s[i];
            int row = i * d;
            for (int j = 0; j < d; j++)
            {
                values[row + j] = rule.Apply(values[row + j], m[row + j], (h[j] * si) + lambda);
            }
        }
    }

    private void AddLayer(string name, AdaFisherLayerKind kind, int inputFeatures, int outputFeatures, Conv2dGeometry? geometry, AdaFisherParameter<T> weight, AdaFisherParameter<T>? bias, long weightLength, int biasLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(weight);
        EnsureNotStarted();
        if (_layerIndex.ContainsKey(name))
        {
            throw new ArgumentException($"A layer named '{name}' is already registered.", nameof(name));
        }

        if (weight.Length != weightLength)
        {
            throw new ArgumentException($"Layer '{name}' needs a weight of {weightLength} values, but '{weight.Name}' has {weight.Length}.", nameof(weight));
        }

        if (bias is not null && bias.Length != biasLength)
        {
            throw new ArgumentException($"Layer '{name}' needs a bias of {biasLength} values, but '{bias.Name}' has {bias.Length}.", nameof(bias));
        }

        EnsureNewParameter(weight, nameof(weight));
        if (bias is not null)
        {
            EnsureNewParameter(bias, nameof(bias));
            if (bias.Name == weight.Name)
            {
                throw new ArgumentException("Weight and bias must be different parameters.", nameof(bias));
            }
        }

        int layerIndex = _layers.Count;
        int weightIndex = _parameters.Count;
        int biasIndex = bias is null ? -1 : weightIndex + 1;
        Conv2dGeometry? patchGeometry = null;
        if (geometry is not null)
        {
            // Patches per channel group; the official code ignores dilation (Conv2dGeometry.WithoutDilation).
            var source = Options.Mode == AdaFisherMode.OfficialCompatible ? geometry.WithoutDilation() : geometry;
            patchGeometry = new Conv2dGeometry(
                source.InChannels / source.Groups, source.OutChannels / source.Groups, source.KernelHeight, source.KernelWidth,
                source.StrideHeight, source.StrideWidth, source.PaddingHeight, source.PaddingWidth, source.DilationHeight, source.DilationWidth);
        }

        _layers.Add(new AdaFisherLayer<T>(name, kind, inputFeatures, outputFeatures, geometry, weightIndex, biasIndex) { PatchGeometry = patchGeometry });
        _layerIndex.Add(name, layerIndex);
        AddParameterState(new ParameterState(weight, layerIndex, false, null));
        if (bias is not null)
        {
            AddParameterState(new ParameterState(bias, layerIndex, true, null));
        }
    }

    private void AddParameterState(ParameterState state)
    {
        _parameterIndex.Add(state.Parameter.Name, _parameters.Count);
        _parameters.Add(state);
    }

    private void EnsureNewParameter(AdaFisherParameter<T> parameter, string argument)
    {
        if (_parameterIndex.ContainsKey(parameter.Name))
        {
            throw new ArgumentException($"A parameter named '{parameter.Name}' is already registered.", argument);
        }
    }

    private void EnsureNotStarted()
    {
        if (StepCount > 0)
        {
            throw new InvalidOperationException("Layers and parameters must be registered before the first step.");
        }
    }

    private AdaFisherLayer<T> Layer(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _layerIndex.TryGetValue(name, out int i) ? _layers[i] : throw new ArgumentException($"No layer named '{name}' is registered.", nameof(name));
    }

    private ParameterState Parameter(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _parameterIndex.TryGetValue(name, out int i) ? _parameters[i] : throw new ArgumentException($"No parameter named '{name}' is registered.", nameof(name));
    }

    private static long ShapeProduct(ReadOnlySpan<int> shape, AdaFisherLayerKind kind)
    {
        if (shape.Length < 2)
        {
            throw new ArgumentException($"The input of a {kind} layer needs a batch axis and at least one more axis.", nameof(shape));
        }

        long product = 1;
        foreach (int n in shape)
        {
            if (n < 1)
            {
                throw new ArgumentException("Every axis of the input shape must be at least 1.", nameof(shape));
            }

            product *= n;
            if (product > int.MaxValue)
            {
                throw new ArgumentException("The input is too large.", nameof(shape));
            }
        }

        return product;
    }

    private static void EnsureRank(ReadOnlySpan<int> shape, int rank)
    {
        if (shape.Length != rank)
        {
            throw new ArgumentException($"The input must have {rank} axes, but its shape has {shape.Length}.", nameof(shape));
        }
    }

    private static void EnsureGradientLength(ReadOnlySpan<T> gradient, long expected)
    {
        if (gradient.Length != expected)
        {
            throw new ArgumentException($"The output gradient must hold {expected} values, but it holds {gradient.Length}.", nameof(gradient));
        }
    }

    private static void EnsureFinite(ReadOnlySpan<T> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                throw new ArgumentException($"Entry {i} is not finite ({values[i]}).", name);
            }
        }
    }

    private static bool AllFiniteNonNegative(T[] values)
    {
        foreach (var v in values)
        {
            if (!T.IsFinite(v) || v < T.Zero)
            {
                return false;
            }
        }

        return true;
    }

    private static void Expect(string actual, string expected, string what)
    {
        if (actual != expected)
        {
            throw new CheckpointFormatException($"The checkpoint's {what} is '{actual}', but this optimizer's is '{expected}'.");
        }
    }

    /// <summary>The per-entry update with <c>F̃</c> given, in the official code's order of operations.</summary>
    private readonly struct UpdateRule(bool coupled, T negativeStep, T learningRate, T biasCorrection, T weightDecay)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply(T value, T m, T f) => coupled
            ? value + (negativeStep * m / f)                                            // AdaFisher: param.addcdiv_(exp_avg, F, value=−lr/bc)
            : value - (learningRate * ((m / biasCorrection / f) + (weightDecay * value))); // AdaFisherW: θ −= lr·(m/bc/F + wd·θ)
    }

    private sealed class ParameterState(AdaFisherParameter<T> parameter, int layerIndex, bool isBias, BlockDiagonalFisher<T>? block)
    {
        public AdaFisherParameter<T> Parameter { get; } = parameter;

        public int LayerIndex { get; } = layerIndex;

        public bool IsBias { get; } = isBias;

        public BlockDiagonalFisher<T>? Block { get; } = block;

        public T[] ExpAvg { get; } = new T[parameter.Length];

        public T[] Scratch { get; } = block is null ? [] : new T[parameter.Length];

        public long Steps { get; set; }

        /// <summary>True when per-example gradients were staged into the block Fisher for the next refresh.</summary>
        public bool BlockStaged { get; set; }
    }
}
