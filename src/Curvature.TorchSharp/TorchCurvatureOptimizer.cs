using System.Numerics;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.TorchSharp.Internals;
using static TorchSharp.torch;

namespace Curvature.TorchSharp;

/// <summary>
/// A Curvature optimizer attached to a TorchSharp module (see <see cref="TorchCurvature.Attach{T}"/>): per training step, run
/// the forward pass inside <see cref="Record"/>, compute your loss, and call <see cref="Step"/> (Curvature updates the
/// parameters) or <see cref="Precondition"/> (Curvature rewrites each <c>.grad</c>; a torch optimizer such as
/// <c>torch.optim.SGD</c> or Adam then steps). Both run the backward pass of your loss themselves.
/// </summary>
/// <example>
/// <code>
/// using var kfac = TorchCurvature.Attach(model, (spec, values, grads) =&gt; new KfacOptimizer&lt;float&gt;(backend, spec, values, grads));
/// foreach (var (x, y) in batches)
/// {
///     using var scope = torch.NewDisposeScope();
///     model.zero_grad();
///     Tensor output;
///     using (kfac.Record()) output = model.call(x);
///     kfac.Step(nn.functional.cross_entropy(output, y), output);
/// }
/// </code>
/// </example>
/// <remarks>
/// <para><b>What one step does.</b> When the optimizer's next step updates curvature statistics
/// (<see cref="CurvatureOptimizer{T}.NeedsObservations"/>), the recorded forward pass captures each observed layer's
/// input; <see cref="Step"/> / <see cref="Precondition"/> then compute the layers' output gradients for the chosen
/// <see cref="TorchFisher"/> — for the empirical Fisher the gradients of your loss kept from its one backward pass, for
/// type-2 / Monte-Carlo the loss-side vectors backpropagated with <c>torch.autograd.grad</c> before the backward pass —
/// run <c>loss.backward()</c> (parameter gradients accumulate into <c>.grad</c> as usual: zero them before the forward
/// pass, e.g. <c>model.zero_grad()</c>), observe all layers at once, and step. On other steps the forward pass is not
/// captured and only the backward pass and the step run.</para>
/// <para><b>Copies</b> (buffers are reused; all are plain memory copies): in the forward hook, each observed layer's
/// input once (BatchNorm/LayerNorm: the normalised input, computed by libtorch first; Embedding: the indices converted to
/// <typeparamref name="T"/>); after the backward pass, each observed layer's output gradient once per backpropagated
/// vector; for type-2 / Monte-Carlo the model output once and the vectors once into a tensor; each parameter's
/// <c>.grad</c> once into a Curvature-owned buffer; with <see cref="Precondition"/> the preconditioned gradient once back
/// into each <c>.grad</c>. Parameter values are never copied: the optimizer reads and updates them in the tensors' own
/// memory.</para>
/// <para><b>Safety.</b> Before anything else each call checks that every bound parameter is still the module's parameter,
/// with the data pointer, element type, device and shape it was bound with; if not (a replaced <c>.data</c>,
/// <c>set_</c>, <c>module.to(...)</c>, a disposed module) it throws <see cref="InvalidOperationException"/> and writes
/// nothing. A rejected step (see <see cref="StepRejectedException"/>) leaves the parameters and the optimizer as they
/// were. Do not call <c>loss.backward()</c> yourself, do not step <see cref="Optimizer"/> directly, and run each observed
/// layer exactly once per recorded forward pass (use out-of-place activations right after observed layers). Not
/// thread-safe. CPU, float32 and float64.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> for float32 modules, <see cref="double"/> for float64 modules.</typeparam>
public sealed class TorchCurvatureOptimizer<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BoundParameter<T>[] _parameters;
    private readonly TorchLayerCapture<T>? _capture;
    private readonly LayerObservation<T>[] _observations;
    private readonly int[] _collapsedAxes;
    private readonly int[][] _inputShapes;
    private readonly int[][] _gradientShapes;
    private readonly Random? _random;
    private bool _armed;
    private bool _disposed;

    internal TorchCurvatureOptimizer(nn.Module module, Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<T>> create, TorchCurvatureOptions options)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Fisher, nameof(options));
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"The TorchSharp bridge works on float32 (float) and float64 (double) tensors, not {typeof(T).Name}.");
        }

        Description = TorchModelDescription.Describe(module);
        Model = Description.ToModelSpec(options.SeparateWeightAndBias);
        Fisher = options.Fisher;
        var parameters = new Dictionary<string, global::TorchSharp.Modules.Parameter>(StringComparer.Ordinal);
        foreach (var (name, p) in module.named_parameters())
        {
            parameters[name] = p;
        }

        var modules = new Dictionary<string, nn.Module>(StringComparer.Ordinal);
        foreach (var (name, m) in module.named_modules())
        {
            modules[name] = m;
        }

        modules[""] = module;
        var bound = new List<BoundParameter<T>>();
        CurvatureOptimizer<T>? optimizer = null;
        try
        {
            var values = new ParameterSet();
            var gradients = new ParameterSet();
            foreach (var spec in Model.Parameters)
            {
                int dot = spec.Name.LastIndexOf('.');
                var owner = modules[dot < 0 ? "" : spec.Name[..dot]];
                var binding = new BoundParameter<T>(spec.Name, owner, spec.Name[(dot + 1)..], parameters[spec.Name]);
                bound.Add(binding);
                values.Add(new NamedTensor<T>(spec.Name, binding.Memory, spec.Shape));
                gradients.Add(new NamedTensor<T>(spec.Name, binding.Gradient, spec.Shape));
            }

            EnsureDisjoint(bound);
            optimizer = create(Model, values, gradients) ?? throw new ArgumentException("The create function returned null.", nameof(create));
            if (!ReferenceEquals(optimizer.Model, Model))
            {
                throw new ArgumentException("The optimizer was created for another model; pass the model description the create function receives.", nameof(create));
            }

            var observed = Model.Layers.Where(l => l.Kind != LayerKind.Parameter && optimizer.TakesObservations(l.Name)).Select(l => l.Name).ToList();
            _capture = observed.Count > 0 ? new TorchLayerCapture<T>(module, observed) : null;
        }
        catch
        {
            optimizer?.Dispose();
            foreach (var b in bound)
            {
                ((IDisposable)b).Dispose();
            }

            throw;
        }

        Optimizer = optimizer;
        _parameters = [.. bound];
        int count = _capture?.Layers.Count ?? 0;
        ObservedLayers = _capture?.Layers.Select(l => l.Name).ToArray() ?? [];
        _observations = new LayerObservation<T>[count];
        _collapsedAxes = new int[count];
        _inputShapes = new int[count][];
        _gradientShapes = new int[count][];
        for (int i = 0; i < count; i++)
        {
            var layer = _capture!.Layers[i];
            _collapsedAxes[i] = layer.Kind == TorchLayerKind.LayerNorm ? layer.NormalizedShape.Count - 1 : 0;
            _inputShapes[i] = [];
            _gradientShapes[i] = [];
        }

        _random = Fisher.VectorFunction is null && Fisher.Type == FisherType.MonteCarlo ? new Random(Fisher.Seed) : null;
    }

    /// <summary>The optimizer (owned: disposed with this object). Read its state, metrics and settings, save and load its
    /// checkpoints, set its damping; step it only through <see cref="Step"/> and <see cref="Precondition"/>.</summary>
    public CurvatureOptimizer<T> Optimizer { get; }

    /// <summary>The model description the optimizer was built for: every trainable parameter, named and ordered as
    /// <c>named_parameters()</c>.</summary>
    public ModelSpec Model { get; }

    /// <summary>The module's supported layers and plain parameters, with the reason each plain parameter has no layer.</summary>
    public TorchModelDescription Description { get; }

    /// <summary>The Fisher the layers are observed with.</summary>
    public TorchFisher Fisher { get; }

    /// <summary>Called with true right before and false right after each call into <see cref="Optimizer"/> (observations,
    /// step or preconditioning), so a benchmark can take the curvature maths out of the bridge's cost.</summary>
    internal Action<bool>? OptimizerCall { get; set; }

    /// <summary>The layers whose inputs and output gradients are observed (module paths, in module order); the other
    /// parameters' curvature comes from their gradients.</summary>
    public IReadOnlyList<string> ObservedLayers { get; }

    /// <summary>
    /// Records the forward pass of this step: run <c>model.call(x)</c> inside the returned scope. When the optimizer's next
    /// step updates curvature statistics, the observed layers' inputs are captured (and, for the empirical Fisher, their
    /// output gradients are kept for the backward pass); otherwise nothing is captured.
    /// </summary>
    /// <exception cref="InvalidOperationException">A bound parameter changed (see the remarks); nothing is recorded.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public TorchLayerCapture<T>.Recording Record()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _armed = false;
        VerifyBindings();
        if (_capture is null || !Optimizer.NeedsObservations)
        {
            _capture?.Release();
            return default;
        }

        var recording = _capture.Record(retainOutputGradients: Fisher.Type == FisherType.Empirical);
        _armed = true;
        return recording;
    }

    /// <summary>
    /// One Curvature step: the backward pass of <paramref name="loss"/> (and, for type-2 / Monte-Carlo, the loss-side
    /// vectors' backward passes from <paramref name="output"/>), the observations, then
    /// <see cref="CurvatureOptimizer{T}.Step(double, Func{double}?, CancellationToken)"/>, which updates the module's
    /// parameters in place (learning rate, momentum and damping are the optimizer's).
    /// </summary>
    /// <param name="loss">Your scalar training loss of the recorded forward pass, with the reduction the optimizer is set
    /// to (mean by default); its backward pass must not have run.</param>
    /// <param name="output">The recorded forward pass's model output (the loss-side vectors start there).</param>
    /// <param name="lossAfterUpdate">Optional: evaluates the same batch's loss at the updated parameters, for the damping
    /// adaptation (see the optimizer's <c>Step</c>).</param>
    /// <param name="cancellationToken">Cancels the optimizer's step (parameters and state unchanged).</param>
    /// <returns>What the step did.</returns>
    /// <exception cref="InvalidOperationException">A bound parameter changed (nothing written), the forward pass was not
    /// recorded, or an observed layer did not run exactly once.</exception>
    /// <exception cref="ArgumentException">The loss or output is not a tensor of this element type on the CPU, the loss is
    /// not a scalar that requires gradients, the output's loss terms per example differ from the optimizer's setting, or an
    /// observation is not finite (parameters and optimizer unchanged).</exception>
    /// <exception cref="StepRejectedException">The optimizer rejected the step (parameters and optimizer unchanged).</exception>
    public StepResult Step(Tensor loss, Tensor output, Func<double>? lossAfterUpdate = null, CancellationToken cancellationToken = default) =>
        Run(loss, output, applyUpdate: true, lossAfterUpdate, cancellationToken);

    /// <summary>
    /// The kfac-pytorch form of a step: as <see cref="Step"/>, but instead of updating the parameters it writes the
    /// preconditioned gradient into each parameter's <c>.grad</c> (created where missing), for a torch optimizer to apply.
    /// The optimizer's KL clipping, when set, uses its own learning rate: set it to the torch optimizer's.
    /// </summary>
    /// <param name="loss">Your scalar training loss of the recorded forward pass (its backward pass must not have run).</param>
    /// <param name="output">The recorded forward pass's model output.</param>
    /// <param name="cancellationToken">Cancels the preconditioning (gradients hold the plain gradients then).</param>
    /// <returns>What the call did.</returns>
    /// <exception cref="InvalidOperationException">As for <see cref="Step"/>.</exception>
    /// <exception cref="ArgumentException">As for <see cref="Step"/>.</exception>
    /// <exception cref="StepRejectedException">The optimizer rejected the call (<c>.grad</c> holds the plain gradients).</exception>
    public StepResult Precondition(Tensor loss, Tensor output, CancellationToken cancellationToken = default) =>
        Run(loss, output, applyUpdate: false, null, cancellationToken);

    /// <summary>Removes the hooks, releases the handles on the parameters and captured tensors, and disposes the optimizer.
    /// The module and its parameters are not changed.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Optimizer.Dispose();
        _capture?.Dispose();
        foreach (var p in _parameters)
        {
            ((IDisposable)p).Dispose();
        }
    }

    private StepResult Run(Tensor loss, Tensor output, bool applyUpdate, Func<double>? lossAfterUpdate, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(output);
        TensorCopy.CheckFloating<T>(loss, "The loss");
        TensorCopy.CheckFloating<T>(output, "The model output");
        if (loss.numel() != 1)
        {
            throw new ArgumentException($"The loss must be a scalar, but it has shape [{string.Join(", ", loss.shape)}].", nameof(loss));
        }

        if (!loss.requires_grad)
        {
            throw new ArgumentException("The loss does not require gradients (computed under no_grad, or from detached tensors).", nameof(loss));
        }

        VerifyBindings();
        bool observe = _capture is not null && Optimizer.NeedsObservations;
        if (observe && !_armed)
        {
            throw new InvalidOperationException("The optimizer observes this step, but no forward pass was recorded: run it inside 'using (optimizer.Record()) { … }'.");
        }

        try
        {
            if (observe)
            {
                _capture!.CheckRecording();
                if (Fisher.Type != FisherType.Empirical)
                {
                    BackpropagateVectors(output);
                }
            }

            loss.backward();
            if (observe && Fisher.Type == FisherType.Empirical)
            {
                _capture!.CopyLossGradients(1.0);
            }

            // Everything observed is in the capture's buffers now: free the layer outputs and their gradients early.
            _capture?.Release();

            foreach (var p in _parameters)
            {
                p.ReadGradient();
            }

            double lossValue = double.CreateChecked(loss.item<T>());
            var observations = observe ? Observations() : default;
            StepResult result;
            OptimizerCall?.Invoke(true);
            try
            {
                if (observe)
                {
                    Optimizer.ObserveAll(observations);
                }

                result = applyUpdate ? Optimizer.Step(lossValue, lossAfterUpdate, cancellationToken) : Optimizer.Precondition(cancellationToken);
            }
            finally
            {
                OptimizerCall?.Invoke(false);
            }

            if (!applyUpdate)
            {
                foreach (var p in _parameters)
                {
                    p.WriteGradient();
                }
            }

            return result;
        }
        finally
        {
            _armed = false;
            _capture?.Release();
        }
    }

    /// <summary>Tied parameters (one tensor's memory under two names) would be updated twice per step: refused.</summary>
    private static void EnsureDisjoint(List<BoundParameter<T>> bound)
    {
        var sorted = bound.OrderBy(b => b.Pointer).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            var (previous, current) = (sorted[i - 1], sorted[i]);
            if (current.Pointer < previous.Pointer + ((nint)previous.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()))
            {
                throw new NotSupportedException($"Parameters '{previous.Name}' and '{current.Name}' share memory (tied weights); the bridge binds each parameter to memory of its own.");
            }
        }
    }

    private void VerifyBindings()
    {
        foreach (var p in _parameters)
        {
            p.Verify();
        }
    }

    /// <summary>Backpropagates the loss-side vectors of <see cref="Fisher"/> from the output to the observed layers.</summary>
    private void BackpropagateVectors(Tensor output)
    {
        if (Fisher.VectorFunction is { } function)
        {
            using var vectors = function(output) ?? throw new InvalidOperationException("The vector function returned null.");
            _capture!.BackpropagateVectors(output, vectors);
            return;
        }

        var settings = Optimizer.Settings;
        if (settings.Reduction == LossReduction.Mean)
        {
            long[] shape = output.shape;
            bool classesSecond = Fisher.Loss == LossFunction.CrossEntropy && shape.Length > 2;
            long c = shape.Length == 1 ? 1 : classesSecond ? shape[1] : shape[^1];
            long n = shape.Length == 0 ? 0 : shape[0];
            long terms = n == 0 || c == 0 ? 0 : output.numel() / (n * c);
            if (terms != settings.LossTermsPerExample)
            {
                throw new ArgumentException(
                    $"The model output [{string.Join(", ", shape)}] has {terms} loss terms per example, but the optimizer's LossTermsPerExample is {settings.LossTermsPerExample}: set it to {terms} so that the factors are those of the mean over all terms.",
                    nameof(output));
            }
        }

        _capture!.BackpropagateLossVectors(output, null, Fisher.Loss, settings.Reduction, Fisher.Type, Fisher.Samples, _random);
    }

    /// <summary>The captured layers as observations (LayerNorm over several axes: those axes taken as one).</summary>
    private ReadOnlySpan<LayerObservation<T>> Observations()
    {
        var captured = _capture!.Captured;
        for (int i = 0; i < _observations.Length; i++)
        {
            var layer = captured[i];
            int[] inputShape = layer.InputShape, gradientShape = layer.GradientShape;
            if (_collapsedAxes[i] > 0)
            {
                inputShape = Collapse(layer.InputShape, _collapsedAxes[i], ref _inputShapes[i]);
                gradientShape = Collapse(layer.GradientShape, _collapsedAxes[i], ref _gradientShapes[i]);
            }

            _observations[i] = new LayerObservation<T>(layer.Layer.Name, new ReadOnlyMemory<T>(layer.Input, 0, layer.InputLength), inputShape,
                new ReadOnlyMemory<T>(layer.Gradients, 0, layer.GradientLength), gradientShape);
        }

        return _observations;
    }

    /// <summary>The shape with its last <paramref name="extra"/> + 1 axes multiplied into one.</summary>
    private static int[] Collapse(int[] shape, int extra, ref int[] target)
    {
        int rank = shape.Length - extra;
        if (rank < 1)
        {
            return shape; // the optimizer reports the shape that does not fit
        }

        if (target.Length != rank)
        {
            target = new int[rank];
        }

        shape.AsSpan(0, rank).CopyTo(target);
        for (int k = rank; k < shape.Length; k++)
        {
            target[rank - 1] *= shape[k];
        }

        return target;
    }
}
