using System.Numerics;
using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;
using Curvature.Loss;
using Curvature.TorchSharp.Internals;
using TorchSharp;
using static TorchSharp.torch;

namespace Curvature.TorchSharp;

/// <summary>
/// Captures, during your own forward pass of a TorchSharp module, each supported layer's input <c>a</c> and (after
/// backpropagation) its output gradients <c>g</c>, and hands them to an <see cref="ILayerObserver{T}"/>.
/// </summary>
/// <remarks>
/// <para>Use: <c>using (capture.Record()) output = model.call(x);</c> then either backpropagate loss-side vectors with
/// <see cref="ObserveLossVectors"/> / <see cref="ObserveVectors"/> (type-2, Monte-Carlo or empirical Fisher; before or
/// after your <c>loss.backward()</c>, which they leave untouched), or record with <c>Record(retainOutputGradients: true)</c>,
/// call <c>loss.backward()</c> and take the gradients of the training loss with <see cref="ObserveLossGradients"/>.</para>
/// <para>Copies (one per tensor per step; the buffers grow to the largest batch and are reused):
/// the layer input is copied once into a managed buffer in the forward hook (norm layers: x̂ is computed by libtorch
/// first, embeddings: the indices are converted while copying); the layer output is not copied (a second handle keeps it
/// alive); each backpropagated vector's gradient at each layer output is copied once from the tensor autograd returns;
/// the loss-side vectors path copies the model output (and the targets, empirical Fisher only) once into a managed buffer and
/// the computed vectors once into a reused tensor. A non-contiguous tensor costs one extra libtorch copy (cross-entropy
/// on <c>[N, C, S…]</c> outputs: moving the class axis last).</para>
/// <para>An in-place operation applied directly to a captured layer's output (e.g. <c>nn.ReLU(inplace: true)</c> right
/// after a Linear) changes which node libtorch attributes gradients to: use the out-of-place form after captured layers.
/// Every captured layer must run exactly once per recorded forward pass. Not thread-safe. CPU, float32 and float64.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> for float32 modules, <see cref="double"/> for float64 modules.</typeparam>
public sealed class TorchLayerCapture<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CapturedLayer<T>[] _layers;
    private readonly List<Tensor> _outputs = [null!];
    private readonly List<Tensor> _inputs = [];
    private readonly List<Tensor> _gradOutputs = [null!];
    private T[] _rows = [];
    private T[] _targets = [];
    private int[] _classes = [];
    private T[] _vectors = [];
    private Tensor? _vectorTensor;
    private bool _recording;
    private bool _recorded;
    private bool _recordingFailed;
    private bool _retainGradients;
    private bool _disposed;

    /// <summary>Attaches forward hooks to the supported layers of <paramref name="module"/>.</summary>
    /// <param name="module">The model.</param>
    /// <param name="layerNames">The layers to capture (module paths); all supported layers when null.</param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    /// <exception cref="ArgumentException">A named layer does not exist, a layer's weight is not of <typeparamref name="T"/>'s element type, or the module has no supported layer.</exception>
    public TorchLayerCapture(nn.Module module, IEnumerable<string>? layerNames = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"The TorchSharp bridge captures float32 (float) and float64 (double) tensors, not {typeof(T).Name}.");
        }

        Model = TorchModelDescription.Describe(module);
        IReadOnlyList<TorchLayer> selected = Model.Layers;
        if (layerNames is not null)
        {
            var names = layerNames.ToList();
            var unknown = names.Where(n => Model.Layers.All(l => l.Name != n)).ToList();
            if (unknown.Count > 0)
            {
                throw new ArgumentException($"The module has no supported layer named {string.Join(", ", unknown.Select(n => $"'{n}'"))}; its layers are {string.Join(", ", Model.Layers.Select(l => $"'{l.Name}'"))}.", nameof(layerNames));
            }

            selected = [.. Model.Layers.Where(l => names.Contains(l.Name))];
        }

        if (selected.Count == 0)
        {
            throw new ArgumentException("The module has no supported layer (Linear, Conv2d, BatchNorm1d/2d, LayerNorm, Embedding) with trainable parameters.", nameof(module));
        }

        var modules = new Dictionary<string, nn.Module>(StringComparer.Ordinal);
        foreach (var (name, m) in module.named_modules())
        {
            modules[name] = m;
        }

        _layers = new CapturedLayer<T>[selected.Count];
        for (int i = 0; i < selected.Count; i++)
        {
            var layer = selected[i];
            if (layer.Kind == TorchLayerKind.Embedding && typeof(T) == typeof(float) && layer.InputSize > (1 << 24))
            {
                throw new ArgumentException($"Embedding '{layer.Name}' has {layer.InputSize} rows; float holds whole numbers exactly only up to 2^24: capture it with double.", nameof(module));
            }

            _layers[i] = new CapturedLayer<T>(layer, (nn.Module<Tensor, Tensor>)modules[layer.Name]);
        }

        CheckParameterTypes();
        foreach (var captured in _layers)
        {
            var c = captured;
            var remover = c.Module.register_forward_hook((_, input, output) => OnForward(c, input, output));
            c.RemoveHook = remover.remove;
        }

        Layers = [.. _layers.Select(l => l.Layer)];
    }

    /// <summary>The module's supported layers and generic parameters.</summary>
    public TorchModelDescription Model { get; }

    /// <summary>The captured layers, in module order (the order of the observations).</summary>
    public IReadOnlyList<TorchLayer> Layers { get; }

    /// <summary>What the capture holds per layer (same order as <see cref="Layers"/>).</summary>
    internal IReadOnlyList<CapturedLayer<T>> Captured => _layers;

    /// <summary>
    /// The factor that turns the gradient of a training loss into curvlinops' empirical-Fisher vectors: <c>√C</c> for a
    /// mean-reduced MSE or BCE loss with <c>C</c> outputs per row (PyTorch averages over all <c>R·C</c> entries, curvlinops'
    /// convention over the <c>R</c> rows only), 1 otherwise.
    /// </summary>
    /// <param name="loss">The loss.</param>
    /// <param name="reduction">Its reduction.</param>
    /// <param name="outputSize">C, the entries per output row (the last axis for MSE and BCE).</param>
    public static double EmpiricalFisherScale(LossFunction loss, LossReduction reduction, int outputSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        return reduction == LossReduction.Mean && loss is LossFunction.MeanSquaredError or LossFunction.BinaryCrossEntropyWithLogits
            ? Math.Sqrt(outputSize)
            : 1.0;
    }

    /// <summary>
    /// Records the next forward pass: releases what the previous one captured and arms the hooks until the returned scope
    /// is disposed. Each captured layer must run exactly once inside the scope.
    /// </summary>
    /// <param name="retainOutputGradients">Keep the gradients your <c>loss.backward()</c> computes at the layer outputs, for <see cref="ObserveLossGradients"/>.</param>
    /// <exception cref="ArgumentException">A captured layer's weight is no longer of <typeparamref name="T"/>'s element type.</exception>
    public Recording Record(bool retainOutputGradients = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckParameterTypes();
        Release();
        _recordingFailed = false;
        _retainGradients = retainOutputGradients;
        _recording = true;
        _recorded = true;
        return new Recording(this);
    }

    /// <summary>
    /// Computes the loss-side vectors of <paramref name="fisher"/> from the model output (curvlinops' conventions, see
    /// <see cref="BackpropagatedVectors"/>), backpropagates each through libtorch to the captured layer outputs and hands
    /// every layer's <c>a</c> and <c>g</c> (<c>[V, …]</c>) to <paramref name="observer"/>. Parameter gradients are not touched.
    /// </summary>
    /// <param name="output">The recorded model output the loss is applied to: <c>[N, C]</c>, <c>[N, S…, C]</c> (MSE, BCE) or <c>[N, C, S…]</c> (cross-entropy).</param>
    /// <param name="targets">Targets (read for the empirical Fisher only; may be null otherwise): class indices <c>[N, S…]</c> (int64) for cross-entropy, the output's shape otherwise.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="reduction">Its reduction.</param>
    /// <param name="fisher">Type-2, Monte-Carlo, empirical, or forward-only (nothing is backpropagated; <c>g</c> is empty).</param>
    /// <param name="observer">Receives the layers.</param>
    /// <param name="mcSamples">Monte-Carlo samples (1 otherwise).</param>
    /// <param name="random">Random source of the Monte-Carlo draws.</param>
    /// <exception cref="ArgumentException">Shapes or types do not fit, or a value is not finite; nothing was observed.</exception>
    /// <exception cref="InvalidOperationException">No complete recording (see <see cref="Record"/>), or libtorch cannot backpropagate from <paramref name="output"/>.</exception>
    public void ObserveLossVectors(Tensor output, Tensor? targets, LossFunction loss, LossReduction reduction, FisherType fisher, ILayerObserver<T> observer,
        int mcSamples = 1, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(observer);
        bool backpropagated = BackpropagateLossVectors(output, targets, loss, reduction, fisher, mcSamples, random);
        Deliver(observer, withGradients: backpropagated);
    }

    /// <summary>The work of <see cref="ObserveLossVectors"/> up to the delivery: returns false when nothing was
    /// backpropagated (forward-only).</summary>
    internal bool BackpropagateLossVectors(Tensor output, Tensor? targets, LossFunction loss, LossReduction reduction, FisherType fisher, int mcSamples, Random? random)
    {
        ArgumentNullException.ThrowIfNull(output);
        CheckRecording();
        TensorCopy.CheckFloating<T>(output, "The model output");
        long[] shape = output.shape;
        bool crossEntropy = loss == LossFunction.CrossEntropy;
        if (crossEntropy && shape.Length < 2)
        {
            throw new ArgumentException($"Cross-entropy needs outputs [N, C] or [N, C, S…], not [{string.Join(", ", shape)}].", nameof(output));
        }

        bool classesSecond = crossEntropy && shape.Length > 2;
        int c = shape.Length == 1 ? 1 : checked((int)(classesSecond ? shape[1] : shape[^1]));
        int total = checked((int)output.numel());
        int rows = c == 0 ? 0 : total / c;
        int vectors = BackpropagatedVectors.Count(fisher, Math.Max(c, 1), mcSamples);

        // Copy: the model output, once, as rows of C (cross-entropy [N, C, S…]: class axis moved last by libtorch first).
        TensorCopy.Ensure(ref _rows, total);
        using (var moved = classesSecond ? output.movedim([1], [-1]) : null)
        {
            TensorCopy.CopyTo(moved ?? output, _rows.AsSpan(0, total), T.One);
        }

        ReadOnlySpan2D<T> outputRows = new(_rows, 0, rows, c, 0);
        TensorCopy.Ensure(ref _vectors, (long)vectors * total);
        Span<T> destination = _vectors.AsSpan(0, vectors * total);
        if (crossEntropy)
        {
            ReadOnlySpan<int> classes = fisher == FisherType.Empirical ? CopyClasses(targets, shape, rows) : [];
            BackpropagatedVectors.ComputeCrossEntropy(reduction, fisher, outputRows, classes, destination, mcSamples, random);
        }
        else
        {
            ReadOnlySpan2D<T> targetRows = default;
            if (fisher == FisherType.Empirical)
            {
                ArgumentNullException.ThrowIfNull(targets);
                TensorCopy.CheckFloating<T>(targets, "The targets");
                if (!targets.shape.SequenceEqual(shape))
                {
                    throw new ArgumentException($"The targets have shape [{string.Join(", ", targets.shape)}], the output [{string.Join(", ", shape)}].", nameof(targets));
                }

                // Copy: the targets, once (empirical Fisher only).
                TensorCopy.Ensure(ref _targets, total);
                TensorCopy.CopyTo(targets, _targets.AsSpan(0, total), T.One);
                targetRows = new ReadOnlySpan2D<T>(_targets, 0, rows, c, 0);
            }

            BackpropagatedVectors.Compute(loss, reduction, fisher, outputRows, targetRows, destination, mcSamples, random);
        }

        if (vectors == 0)
        {
            return false;
        }

        // Copy: the vectors, once, into a reused tensor [V, R, C], viewed in the output's layout.
        if (_vectorTensor is null || _vectorTensor.numel() != (long)vectors * total || _vectorTensor.dtype != output.dtype)
        {
            _vectorTensor?.Dispose();
            _vectorTensor = empty(new long[] { vectors, rows, c }, output.dtype).DetachFromDisposeScope();
        }

        TensorCopy.CopyFrom<T>(destination, _vectorTensor);
        using var scope = NewDisposeScope();
        Tensor view;
        if (classesSecond)
        {
            long[] moved = new long[shape.Length + 1];
            moved[0] = vectors;
            moved[1] = shape[0];
            for (int i = 2; i < shape.Length; i++)
            {
                moved[i] = shape[i];
            }

            moved[^1] = shape[1];
            view = _vectorTensor.view(moved).movedim([-1], [2]);
        }
        else
        {
            long[] full = new long[shape.Length + 1];
            full[0] = vectors;
            shape.CopyTo(full, 1);
            view = _vectorTensor.view(full);
        }

        Backpropagate(output, view, vectors);
        return true;
    }

    /// <summary>
    /// Backpropagates given vectors <c>[V, …output shape]</c> (for example Monte-Carlo draws made elsewhere) from
    /// <paramref name="output"/> to the captured layer outputs and hands every layer's <c>a</c> and <c>g</c> to
    /// <paramref name="observer"/>. Parameter gradients are not touched.
    /// </summary>
    /// <exception cref="ArgumentException">The vectors' shape or type does not fit, or a value is not finite; nothing was observed.</exception>
    /// <exception cref="InvalidOperationException">No complete recording, or libtorch cannot backpropagate from <paramref name="output"/>.</exception>
    public void ObserveVectors(Tensor output, Tensor vectors, ILayerObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        BackpropagateVectors(output, vectors);
        Deliver(observer, withGradients: true);
    }

    /// <summary>The work of <see cref="ObserveVectors"/> up to the delivery.</summary>
    internal void BackpropagateVectors(Tensor output, Tensor vectors)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(vectors);
        CheckRecording();
        TensorCopy.CheckFloating<T>(output, "The model output");
        TensorCopy.CheckFloating<T>(vectors, "The vectors");
        long[] shape = output.shape, vshape = vectors.shape;
        if (vshape.Length != shape.Length + 1 || vshape[0] < 1 || !vshape.AsSpan(1).SequenceEqual(shape))
        {
            throw new ArgumentException($"The vectors must have shape [V ≥ 1, {string.Join(", ", shape)}], not [{string.Join(", ", vshape)}].", nameof(vectors));
        }

        using var scope = NewDisposeScope();
        Backpropagate(output, vectors, checked((int)vshape[0]));
    }

    /// <summary>
    /// Hands every layer's <c>a</c> and the gradient of the training loss at its output (<c>g</c> with V = 1, multiplied by
    /// <paramref name="scale"/>) to <paramref name="observer"/>. Call it after your <c>loss.backward()</c> on a forward pass
    /// recorded with <c>Record(retainOutputGradients: true)</c>.
    /// </summary>
    /// <param name="observer">Receives the layers.</param>
    /// <param name="scale">Multiplies the gradients while they are copied, e.g. <see cref="EmpiricalFisherScale"/> for curvlinops' empirical Fisher.</param>
    /// <exception cref="ArgumentException">A value is not finite, or <paramref name="scale"/> is not finite; nothing was observed.</exception>
    /// <exception cref="InvalidOperationException">No complete recording with retained gradients, or no backward pass reached a layer output.</exception>
    public void ObserveLossGradients(ILayerObserver<T> observer, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(observer);
        CopyLossGradients(scale);
        Deliver(observer, withGradients: true);
    }

    /// <summary>The work of <see cref="ObserveLossGradients"/> up to the delivery.</summary>
    internal void CopyLossGradients(double scale)
    {
        if (!double.IsFinite(scale))
        {
            throw new ArgumentException("The scale must be finite.", nameof(scale));
        }

        CheckRecording();
        if (!_retainGradients)
        {
            throw new InvalidOperationException("The forward pass was recorded without Record(retainOutputGradients: true); the training gradients at the layer outputs were not kept.");
        }

        T factor = T.CreateChecked(scale);
        foreach (var layer in _layers)
        {
            // Copy: the gradient libtorch accumulated at the layer output, once (scaled while copying).
            using var grad = layer.Output!.grad;
            if (grad is null)
            {
                throw new InvalidOperationException($"The output of layer '{layer.Layer.Name}' has no gradient: call loss.backward() before {nameof(ObserveLossGradients)}.");
            }

            layer.GradientLength = CapturedLayer<T>.SetShape(ref layer.GradientShape, grad.shape, leading: 1);
            TensorCopy.Ensure(ref layer.Gradients, layer.GradientLength);
            TensorCopy.CopyTo(grad, layer.Gradients.AsSpan(0, layer.GradientLength), factor);
        }
    }

    /// <summary>Releases the tensors of the last recording (also done by the next <see cref="Record"/> and by <see cref="Dispose"/>).</summary>
    public void Release()
    {
        foreach (var layer in _layers)
        {
            layer.Release();
        }

        _recorded = false;
    }

    /// <summary>Removes the hooks and releases every tensor the capture holds.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _recording = false;
        Release();
        foreach (var layer in _layers)
        {
            layer.RemoveHook?.Invoke();
        }

        _vectorTensor?.Dispose();
        _vectorTensor = null;
    }

    private Tensor OnForward(CapturedLayer<T> layer, Tensor input, Tensor output)
    {
        if (!_recording || ++layer.Calls > 1)
        {
            return output;
        }

        try
        {
            CaptureInput(layer, input);
            layer.OutputLength = CapturedLayer<T>.SetShape(ref layer.OutputShape, output.shape);
            layer.Output = output.alias().DetachFromDisposeScope();
            if (_retainGradients && output.requires_grad)
            {
                layer.Output.retain_grad();
            }
        }
        catch
        {
            _recordingFailed = true;
            throw;
        }

        return output;
    }

    /// <summary>Copy: the layer input (norm layers: x̂; embeddings: the indices), once, in the forward hook.</summary>
    private static void CaptureInput(CapturedLayer<T> layer, Tensor input)
    {
        layer.InputLength = CapturedLayer<T>.SetShape(ref layer.InputShape, input.shape);
        TensorCopy.Ensure(ref layer.Input, layer.InputLength);
        Span<T> destination = layer.Input.AsSpan(0, layer.InputLength);
        var info = layer.Layer;
        switch (info.Kind)
        {
            case TorchLayerKind.Embedding:
                TensorCopy.CopyIndices(input, destination, info.InputSize);
                return;
            case TorchLayerKind.BatchNorm1d or TorchLayerKind.BatchNorm2d:
                {
                    TensorCopy.CheckFloating<T>(input, $"The input of layer '{info.Name}'");
                    var bn = (global::TorchSharp.Modules.BatchNorm)layer.Module;
                    bool batchStatistics = bn.training || !info.TrackRunningStatistics;
                    using var noGrad = no_grad();
                    using var normalized = nn.functional.batch_norm(input, batchStatistics ? null : bn.running_mean, batchStatistics ? null : bn.running_var,
                        null, null, training: batchStatistics, momentum: 0.0, eps: info.Epsilon);
                    TensorCopy.CopyTo(normalized, destination, T.One);
                    return;
                }

            case TorchLayerKind.LayerNorm:
                {
                    TensorCopy.CheckFloating<T>(input, $"The input of layer '{info.Name}'");
                    long[] normalizedShape = [.. info.NormalizedShape.Select(d => (long)d)];
                    using var noGrad = no_grad();
                    using var normalized = nn.functional.layer_norm(input, normalizedShape, null, null, info.Epsilon);
                    TensorCopy.CopyTo(normalized, destination, T.One);
                    return;
                }

            default:
                TensorCopy.CheckFloating<T>(input, $"The input of layer '{info.Name}'");
                TensorCopy.CopyTo(input, destination, T.One);
                return;
        }
    }

    private void StopRecording() => _recording = false;

    private void CheckParameterTypes()
    {
        foreach (var layer in _layers)
        {
            foreach (var (name, p) in layer.Module.named_parameters(recurse: false))
            {
                TensorCopy.CheckFloating<T>(p, $"Parameter '{layer.Layer.Name}.{name}'");
            }
        }
    }

    /// <summary>Throws unless a complete recording is available.</summary>
    internal void CheckRecording()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_recorded)
        {
            throw new InvalidOperationException("Nothing was recorded: run the forward pass inside 'using (capture.Record()) { … }' first.");
        }

        if (_recordingFailed)
        {
            throw new InvalidOperationException("Capturing a layer failed during the recorded forward pass (see the exception it raised); record again.");
        }

        foreach (var layer in _layers)
        {
            if (layer.Calls != 1)
            {
                throw new InvalidOperationException(layer.Calls == 0
                    ? $"Layer '{layer.Layer.Name}' did not run in the recorded forward pass (capture only the layers you use: the layerNames argument)."
                    : $"Layer '{layer.Layer.Name}' ran {layer.Calls} times in the recorded forward pass; each captured layer must run exactly once.");
            }
        }
    }

    private ReadOnlySpan<int> CopyClasses(Tensor? targets, long[] outputShape, int rows)
    {
        ArgumentNullException.ThrowIfNull(targets);
        long[] expected = outputShape.Length == 2 ? [outputShape[0]] : [outputShape[0], .. outputShape.AsSpan(2)];
        if (!targets.shape.SequenceEqual(expected))
        {
            throw new ArgumentException($"Cross-entropy targets must have shape [{string.Join(", ", expected)}], not [{string.Join(", ", targets.shape)}].", nameof(targets));
        }

        if (targets.dtype != ScalarType.Int64 || targets.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"Cross-entropy targets must be int64 class indices on the CPU, not {targets.dtype} on {targets.device_type}.", nameof(targets));
        }

        // Copy: the class indices, once (empirical Fisher only); out-of-range indices are rejected by the vector computation.
        if (_classes.Length < rows)
        {
            _classes = new int[rows];
        }

        using var contiguous = targets.contiguous();
        ReadOnlySpan<long> source = MemoryMarshal.Cast<byte, long>(contiguous.bytes);
        for (int i = 0; i < rows; i++)
        {
            long k = source[i];
            _classes[i] = k is < int.MinValue or > int.MaxValue ? -1 : (int)k;
        }

        return _classes.AsSpan(0, rows);
    }

    /// <summary>Backpropagates each vector to every captured layer output and copies the gradients into the layer buffers.</summary>
    private void Backpropagate(Tensor output, Tensor vectors, int count)
    {
        if (!output.requires_grad)
        {
            throw new InvalidOperationException("The model output does not require gradients (was the forward pass run under no_grad?).");
        }

        _inputs.Clear();
        foreach (var layer in _layers)
        {
            layer.GradientLength = CapturedLayer<T>.SetShape(ref layer.GradientShape, layer.Output!.shape, leading: count);
            TensorCopy.Ensure(ref layer.Gradients, layer.GradientLength);
            _inputs.Add(layer.Output);
        }

        _outputs[0] = output;
        try
        {
            for (int v = 0; v < count; v++)
            {
                using var vector = vectors[v];
                _gradOutputs[0] = vector;
                IList<Tensor> grads;
                try
                {
                    grads = autograd.grad(_outputs, _inputs, _gradOutputs, retain_graph: true);
                }
                catch (ExternalException e)
                {
                    throw new InvalidOperationException($"libtorch could not backpropagate from the model output to the captured layers: {e.Message}", e);
                }

                for (int l = 0; l < _layers.Length; l++)
                {
                    // Copy: the gradient of vector v at layer l's output, once.
                    var layer = _layers[l];
                    using var grad = grads[l];
                    int length = layer.OutputLength;
                    TensorCopy.CopyTo(grad, layer.Gradients.AsSpan(v * length, length), T.One);
                }
            }
        }
        finally
        {
            _outputs[0] = null!;
            _gradOutputs[0] = null!;
            _inputs.Clear();
        }
    }

    /// <summary>Checks every buffer, then hands each layer to the observer (nothing is delivered when a value is not finite).</summary>
    private void Deliver(ILayerObserver<T> observer, bool withGradients)
    {
        foreach (var layer in _layers)
        {
            if (!TensorCopy.AllFinite<T>(layer.Input.AsSpan(0, layer.InputLength)))
            {
                throw new ArgumentException($"The input of layer '{layer.Layer.Name}' contains NaN or infinity; nothing was observed.");
            }

            if (withGradients && !TensorCopy.AllFinite<T>(layer.Gradients.AsSpan(0, layer.GradientLength)))
            {
                throw new ArgumentException($"The output gradients of layer '{layer.Layer.Name}' contain NaN or infinity; nothing was observed.");
            }
        }

        foreach (var layer in _layers)
        {
            observer.Observe(layer.Layer.Name, layer.Input.AsSpan(0, layer.InputLength), layer.InputShape,
                withGradients ? layer.Gradients.AsSpan(0, layer.GradientLength) : [], withGradients ? layer.GradientShape : []);
        }
    }

    /// <summary>The scope of one recorded forward pass (see <see cref="Record"/>); disposing it disarms the hooks.</summary>
    public readonly struct Recording : IDisposable
    {
        private readonly TorchLayerCapture<T>? _owner;

        internal Recording(TorchLayerCapture<T> owner) => _owner = owner;

        /// <summary>Stops recording; what was captured stays available for the observation calls.</summary>
        public void Dispose() => _owner?.StopRecording();
    }
}
