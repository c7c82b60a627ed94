using System.Numerics;
using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Diagnostics;
using Curvature.Kfac;
using Curvature.Models;
using Curvature.Optimizers.Internals;
using Curvature.Parameters;
using Curvature.Serialization;

namespace Curvature.Optimizers;

/// <summary>
/// The one training-loop API of Curvature's second-order optimizers (<see cref="KfacOptimizer{T}"/>,
/// <see cref="EkfacOptimizer{T}"/>, <see cref="AdaFisherOptimizer{T}"/>): it is created once for a
/// <see cref="ModelSpec"/> and the memory of the model's parameters and gradients, observes each layer's inputs and output
/// gradients, and either applies a full update (<see cref="Step(double, Func{double}?, CancellationToken)"/>, the KFAC-JAX / torch.optim
/// shape) or only rewrites the gradients with preconditioned ones (<see cref="Precondition"/>, the kfac-pytorch shape, for
/// any other optimizer to follow).
/// </summary>
/// <remarks>
/// <para><b>One step.</b> After the forward and backward pass of a batch: (1) when <see cref="NeedsObservations"/>, call
/// <see cref="Observe(string, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/> for every
/// layer with statistics (or <see cref="ObserveAll"/>); (2) write the parameter gradients <c>∂L/∂θ</c> into the bound
/// gradient memory; (3) call <see cref="Step(double, Func{double}?, CancellationToken)"/> with the batch loss. The step folds the
/// observations into the running statistics, refreshes inverses or eigenbases when due, preconditions the gradient,
/// chooses the update (learning rate and momentum, or the quadratic model), applies weight decay and clipping, updates the
/// parameters in place and adapts the damping. Shapes and scaling of observations and gradients: see
/// <see cref="OptimizerOptions"/>.</para>
/// <para><b>Failures.</b> Bad arguments throw <see cref="ArgumentException"/> before anything changes; a step that cannot be
/// completed (non-finite gradient or update, missing statistics, a failed factorization) throws with every piece of state
/// — parameters, statistics, inverses, momentum, damping, counters — exactly as before the call.</para>
/// <para><b>Threads.</b> One instance is not thread-safe: call it from one thread at a time. With
/// <see cref="RefreshMode.Background"/> it owns worker threads; dispose it to stop them.</para>
/// <para>Steady-state steps allocate nothing (after the first step with each batch size).</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>; other types are rejected by the constructor.</typeparam>
public abstract class CurvatureOptimizer<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int SchemaVersion = 1;
    private readonly OptimizerOptions _options;
    private readonly CurvatureBlock<T>[] _blocks;
    private readonly Dictionary<string, int> _blockByLayer = new(StringComparer.Ordinal);
    private readonly Memory<T>[] _values;
    private readonly Memory<T>[] _gradients;
    private readonly int[] _parameterOffsets;
    private readonly ObservationSettings _settings;
    private readonly string _checkpointKind;
    private readonly T[] _gradient;
    private readonly T[] _rawGradient;
    private readonly T[] _direction;
    private readonly T[] _update;
    private readonly T[] _velocity;
    private readonly T[] _velocityNext;
    private T[]? _productA;
    private T[]? _productB;
    private T[] _statistics;
    private T[] _statisticsNext;
    private readonly bool[] _blendedThisStep;
    private readonly bool[] _refreshedThisStep;
    private readonly bool[] _dueThisStep;
    private T[] _denseScratch = [];
    private bool _hasPreviousUpdate;
    private double _damping;
    private double _pendingLoss = double.NaN;
    private double _pendingPredictedChange = double.NaN;
    private int _lastBatchSize = 1;
    private bool _disposed;
    private int _busy;

    private protected CurvatureOptimizer(
        CurvatureBackend backend, ModelSpec model, ParameterSet parameters, ParameterSet gradients, OptimizerOptions options, string checkpointKind,
        Func<ModelSpec, int, int, int, CurvatureBlock<T>> createBlock)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"Curvature optimizers compute in float or double, not {typeof(T).Name}.");
        }

        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Backend = backend;
        Model = model;
        _options = options;
        _checkpointKind = checkpointKind;
        _settings = new ObservationSettings(options.Reduction, options.LossTermsPerExample, options.WeightSharing);

        int count = model.Parameters.Count;
        _values = new Memory<T>[count];
        _gradients = new Memory<T>[count];
        _parameterOffsets = new int[count];
        for (int i = 0; i < count; i++)
        {
            var spec = model.Parameters[i];
            _values[i] = Resolve(parameters, spec, nameof(parameters));
            _gradients[i] = Resolve(gradients, spec, nameof(gradients));
            _parameterOffsets[i] = spec.Offset;
            if (_values[i].Span.Overlaps(_gradients[i].Span))
            {
                throw new ArgumentException($"The values and the gradient of '{spec.Name}' overlap.", nameof(gradients));
            }
        }

        var blocks = new List<CurvatureBlock<T>>();
        try
        {
            int statisticsLength = 0;
            for (int li = 0; li < model.Layers.Count; li++)
            {
                var layer = model.Layers[li];
                int weightOffset = -1, biasOffset = -1;
                foreach (var p in model.Parameters)
                {
                    if (p.LayerIndex == li)
                    {
                        if (p.IsBias)
                        {
                            biasOffset = p.Offset;
                        }
                        else
                        {
                            weightOffset = p.Offset;
                        }
                    }
                }

                var block = createBlock(model, li, weightOffset, biasOffset);
                blocks.Add(block);
                block.StatisticsOffset = statisticsLength;
                statisticsLength += block.StatisticsLength;
                _blockByLayer[layer.Name] = li;
            }

            _blocks = [.. blocks];
            _statistics = new T[statisticsLength];
            _statisticsNext = new T[statisticsLength];
        }
        catch
        {
            foreach (var b in blocks)
            {
                b.Dispose();
            }

            throw;
        }

        int n = model.Dimension;
        _gradient = new T[n];
        _rawGradient = new T[n];
        _direction = new T[n];
        _update = new T[n];
        _velocity = new T[n];
        _velocityNext = new T[n];
        _blendedThisStep = new bool[_blocks.Length];
        _refreshedThisStep = new bool[_blocks.Length];
        _dueThisStep = new bool[_blocks.Length];
        _damping = options.Damping;
    }

    /// <summary>The dense kernels.</summary>
    public CurvatureBackend Backend { get; }

    /// <summary>The model the optimizer was built for.</summary>
    public ModelSpec Model { get; }

    /// <summary>The settings (each optimizer also exposes its own options type).</summary>
    public OptimizerOptions Settings => _options;

    /// <summary>Completed steps (<see cref="Step(double, Func{double}?, CancellationToken)"/> and <see cref="Precondition"/> calls).</summary>
    public long StepCount { get; private set; }

    /// <summary>True when the next step updates the curvature statistics, so every layer should be observed before it
    /// (observations made on other steps are ignored).</summary>
    public bool NeedsObservations => StepCount % _options.StatisticsUpdatePeriod == 0;

    /// <summary>The current damping λ. Setting it (positive, finite) overrides the adapted value; inverses computed with
    /// the old value are used until their next refresh.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive or not finite (nothing changes).</exception>
    public double Damping
    {
        get => _damping;
        set
        {
            ThrowIfDisposed();
            if (!double.IsFinite(value) || value <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The damping must be positive and finite.");
            }

            _damping = value;
        }
    }

    /// <summary>The learning rate the next step will use (from the schedule when one is set).</summary>
    public double LearningRate => _options.LearningRateSchedule?.Invoke(StepCount) ?? _options.LearningRate;

    /// <summary>Curvature-vector products for <see cref="QuadraticModelCurvature.CallerProducts"/> (required then).</summary>
    public ICurvatureProducts<T>? CurvatureProducts { get; set; }

    /// <summary>When set, averages the curvature statistics across processes before they are read (see
    /// <see cref="IStatisticsAllReduce{T}"/>).</summary>
    public IStatisticsAllReduce<T>? StatisticsAllReduce { get; set; }

    /// <summary>The committed running statistics of all layers, in one contiguous buffer (read-only view).</summary>
    public ReadOnlySpan<T> Statistics => _statistics;

    /// <summary>True while a background refresh of some layer is in flight or finished but not yet swapped in.</summary>
    public bool IsRefreshPending
    {
        get
        {
            foreach (var b in _blocks)
            {
                if (b.IsRefreshPending)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Bytes held: statistics (with their double buffer and staged batches), inverses, eigenbases, workspaces.</summary>
    public OptimizerMemory Memory
    {
        get
        {
            long size = Unsafe.SizeOf<T>();
            long statistics = 2L * _statistics.Length * size, inverses = 0, eigen = 0;
            long work = ((long)_gradient.Length * 6 * size) + ((_productA?.Length ?? 0) + (_productB?.Length ?? 0) + _denseScratch.Length) * size + StateBytes;
            foreach (var b in _blocks)
            {
                var m = b.Memory;
                statistics += m.Statistics;
                inverses += m.Inverses;
                eigen += m.Eigenbases;
                work += m.Workspaces;
            }

            return new OptimizerMemory(statistics, inverses, eigen, work);
        }
    }

    internal IReadOnlyList<CurvatureBlock<T>> Blocks => _blocks;

    /// <summary>True when the curvature of <paramref name="layer"/> comes from observations (so
    /// <see cref="Observe(string, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/> takes it); false
    /// when it comes from the layer's parameter gradients alone (plain parameters, and the layers an optimizer treats so).</summary>
    /// <exception cref="KeyNotFoundException">The model has no layer of that name.</exception>
    public bool TakesObservations(string layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return _blockByLayer.TryGetValue(layer, out int index)
            ? _blocks[index].UsesObservations
            : throw new KeyNotFoundException($"The model has no layer named '{layer}'.");
    }

    /// <summary>
    /// Records one layer's input and output gradients for the next step's statistics update.
    /// </summary>
    /// <param name="layer">The layer's name in the model.</param>
    /// <param name="input">The layer input <c>a</c>, row-major: Linear <c>[N, D_in]</c> or <c>[N, S…, D_in]</c>; Conv2d
    /// <c>[N, C_in, H, W]</c>; BatchNorm and LayerNorm the <b>normalised</b> input <c>x̂</c> (before scale and shift),
    /// <c>[N, C(, H, W)]</c> / <c>[N, S…, D]</c>; Embedding the integer indices <c>[N, S…]</c> as values of
    /// <typeparamref name="T"/>.</param>
    /// <param name="inputShape">Its shape; axis 0 is the batch.</param>
    /// <param name="outputGradients">The gradients at the layer output of V backpropagated vectors, row-major, shape
    /// <c>[V, N, …output…]</c> (Conv2d <c>[V, N, C_out, OH, OW]</c>): with V = 1 the gradient of the loss itself (empirical
    /// Fisher), or the vectors of <see cref="Loss.BackpropagatedVectors"/> (type-2, Monte-Carlo). See
    /// <see cref="OptimizerOptions"/> for their scaling.</param>
    /// <param name="outputGradientShape">Their shape.</param>
    /// <returns>True when recorded; false when the next step does not update statistics (<see cref="NeedsObservations"/>),
    /// in which case nothing is read.</returns>
    /// <exception cref="ArgumentException">Unknown layer, a layer without observations (a plain parameter), shapes that
    /// do not fit the layer, non-finite values, or values whose statistics would overflow; nothing changes.</exception>
    public bool Observe(string layer, ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> outputGradients, ReadOnlySpan<int> outputGradientShape)
    {
        ArgumentNullException.ThrowIfNull(layer);
        Enter();
        try
        {
            var block = ObservedBlock(layer);
            if (!NeedsObservations)
            {
                return false;
            }

            var shape = block.ValidateObservation(input, inputShape, outputGradients, outputGradientShape, _settings);
            block.StageObservation(Backend, input, outputGradients, shape, _settings);
            return true;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Records a dense layer's input <c>[N, D_in]</c> and output gradient <c>[N, D_out]</c> (one backpropagated vector),
    /// as <see cref="Observe(string, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/> with shapes
    /// <c>[N, D_in]</c> and <c>[1, N, D_out]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">As for the flat overload; also when the row counts differ.</exception>
    public bool Observe(string layer, ReadOnlySpan2D<T> input, ReadOnlySpan2D<T> outputGradient)
    {
        if (input.Height != outputGradient.Height)
        {
            throw new ArgumentException($"The input has {input.Height} rows but the output gradient has {outputGradient.Height}.", nameof(outputGradient));
        }

        int n = input.Height, din = input.Width, dout = outputGradient.Width;
        ReadOnlySpan<T> a = Contiguous(input, 0);
        ReadOnlySpan<T> g = Contiguous(outputGradient, input.TryGetSpan(out _) ? 0 : (int)input.Length);
        return Observe(layer, a, [n, din], g, [1, n, dout]);
    }

    /// <summary>Records the observations of several layers (see <see cref="LayerObservation{T}"/>); all are validated before
    /// any is recorded, so a rejected call records none.</summary>
    /// <returns>True when recorded; false when the next step does not update statistics.</returns>
    /// <exception cref="ArgumentException">As for a single observation, or a layer listed twice.</exception>
    public bool ObserveAll(ReadOnlySpan<LayerObservation<T>> observations)
    {
        Enter();
        try
        {
            for (int i = 0; i < observations.Length; i++)
            {
                ObservedBlock(observations[i].Layer);
                for (int j = 0; j < i; j++)
                {
                    if (observations[j].Layer == observations[i].Layer)
                    {
                        throw new ArgumentException($"Layer '{observations[i].Layer}' is observed twice.", nameof(observations));
                    }
                }
            }

            if (!NeedsObservations)
            {
                return false;
            }

            // Validate every observation before staging any, so a rejected call records none.
            Span<KfacBatchShape> shapes = observations.Length <= 64 ? stackalloc KfacBatchShape[observations.Length] : new KfacBatchShape[observations.Length];
            for (int i = 0; i < observations.Length; i++)
            {
                var o = observations[i];
                shapes[i] = _blocks[_blockByLayer[o.Layer]].ValidateObservation(o.Input.Span, o.InputShape, o.OutputGradients.Span, o.OutputGradientShape, _settings);
            }

            for (int i = 0; i < observations.Length; i++)
            {
                var o = observations[i];
                _blocks[_blockByLayer[o.Layer]].StageObservation(Backend, o.Input.Span, o.OutputGradients.Span, shapes[i], _settings);
            }

            return true;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// One optimizer step: updates the curvature statistics from the observations, refreshes inverses or eigenbases when
    /// due, preconditions the gradient, computes the update (see <see cref="OptimizerOptions.UpdateRule"/>), applies weight
    /// decay and clipping, updates the parameters in place, and adapts the damping.
    /// </summary>
    /// <param name="loss">The batch loss <c>L(θ)</c> at the parameters before the step (needed by Levenberg–Marquardt
    /// damping; pass <see cref="double.NaN"/> when the damping is fixed).</param>
    /// <param name="lossAfterUpdate">Optional: evaluates the same batch's loss at the current parameters; called after the
    /// update on steps that adapt the damping, so the reduction ratio compares like with like (KFAC-JAX). Without it the
    /// next step's <paramref name="loss"/> (another batch) stands in for <c>L(θ + δ)</c>.</param>
    /// <param name="cancellationToken">Checked between kernel calls (before each refresh and each layer's preconditioning);
    /// a cancelled step throws <see cref="OperationCanceledException"/> with nothing changed.</param>
    /// <returns>What the step did.</returns>
    /// <exception cref="StepRejectedException">The step could not be completed (see <see cref="StepRejectionReason"/>);
    /// nothing changed.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped factor could not be inverted; nothing changed.</exception>
    /// <exception cref="InvalidOperationException">The quadratic model needs <see cref="CurvatureProducts"/>, or the instance
    /// is used from two threads at once.</exception>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public StepResult Step(double loss, Func<double>? lossAfterUpdate = null, CancellationToken cancellationToken = default)
    {
        Enter();
        try
        {
            return Run(applyUpdate: true, loss, lossAfterUpdate, cancellationToken);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// The kfac-pytorch form of a step: updates statistics and refreshes as <see cref="Step(double, Func{double}?, CancellationToken)"/>
    /// does, then overwrites every bound gradient with the preconditioned gradient <c>d = (C + λI)⁻¹ ∇L</c> (after coupled
    /// weight decay and gradient clipping, and scaled by the KL clip when set), for another optimizer to apply. Parameters,
    /// momentum and damping are not changed; state the preconditioned gradient itself is made of (AdaFisher's first moment)
    /// advances as in a step, so preconditioning and then applying <c>−η·d</c> is the step with learning rate η and no
    /// momentum.
    /// </summary>
    /// <param name="cancellationToken">Checked between kernel calls; a cancelled call throws
    /// <see cref="OperationCanceledException"/> with nothing changed.</param>
    /// <returns>What the call did (learning rate and momentum are 0).</returns>
    /// <exception cref="StepRejectedException">The call could not be completed; nothing changed.</exception>
    public StepResult Precondition(CancellationToken cancellationToken = default)
    {
        Enter();
        try
        {
            return Run(applyUpdate: false, double.NaN, null, cancellationToken);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Waits for background refreshes in flight (nothing in synchronous mode); their results are swapped in by the
    /// next step.</summary>
    public void WaitForPendingRefresh()
    {
        ThrowIfDisposed();
        foreach (var b in _blocks)
        {
            b.WaitForBackgroundRefresh();
        }
    }

    /// <summary>Forgets all curvature statistics, representations, momentum, staged observations and counters, and resets the
    /// damping to its initial value. The parameters are not touched.</summary>
    public void Reset()
    {
        Enter();
        try
        {
            foreach (var b in _blocks)
            {
                b.ClearRepresentation();
                b.ClearStagedObservation();
                b.UpdateCount = 0;
                b.AverageWeight = 0;
                b.UpdatesSinceRefresh = 0;
            }

            Array.Clear(_statistics);
            Array.Clear(_statisticsNext);
            Array.Clear(_velocity);
            _hasPreviousUpdate = false;
            _damping = _options.Damping;
            _pendingLoss = double.NaN;
            _pendingPredictedChange = double.NaN;
            _lastBatchSize = 1;
            StepCount = 0;
            OnReset();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Writes the optimizer's state (counters, damping, statistics, inverses or eigenbases, momentum, and the
    /// optimizer-specific state) as a versioned, CRC-checked checkpoint. Background refreshes in flight are waited for and
    /// swapped in, as the next step would do, so the checkpoint holds them and an optimizer that loads it continues exactly
    /// as this one (a failed refresh is still reported by the next step). The parameters are not part of it.
    /// </summary>
    public void Save(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Enter();
        try
        {
            WaitForBlocks();
            foreach (var b in _blocks)
            {
                b.SwapInFinishedRefresh(_statistics.AsSpan(b.StatisticsOffset, b.StatisticsLength));
            }

            var w = new CheckpointWriter(destination, _checkpointKind, SchemaVersion);
            w.WriteString("elementType", typeof(T).Name);
            w.WriteString("model", ModelSignature());
            w.WriteInt64("steps", StepCount);
            w.WriteDouble("damping", _damping);
            w.WriteDouble("pendingLoss", _pendingLoss);
            w.WriteDouble("pendingPredictedChange", _pendingPredictedChange);
            w.WriteInt32("lastBatchSize", _lastBatchSize);
            w.WriteBoolean("hasPreviousUpdate", _hasPreviousUpdate);
            w.WriteValues<T>("velocity", _velocity);
            w.WriteValues<T>("statistics", _statistics);
            for (int i = 0; i < _blocks.Length; i++)
            {
                var b = _blocks[i];
                string p = $"layer{i}.";
                w.WriteInt64(p + "updates", b.UpdateCount);
                w.WriteDouble(p + "averageWeight", b.AverageWeight);
                w.WriteInt64(p + "updatesSinceRefresh", b.UpdatesSinceRefresh);
                b.WriteRepresentation(w, p);
            }

            WriteOptimizerState(w);
            w.Complete();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Restores a checkpoint written by <see cref="Save"/> for the same model and element type; everything is read
    /// and validated before anything changes. Staged observations and background refreshes in flight are discarded.</summary>
    /// <exception cref="CheckpointFormatException">Truncated, corrupted, or for another optimizer, model or element type;
    /// nothing changes.</exception>
    public void Load(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Enter();
        try
        {
            var r = CheckpointReader.Open(source, _checkpointKind, SchemaVersion);
            string type = r.ReadString("elementType");
            if (type != typeof(T).Name)
            {
                throw new CheckpointFormatException($"The checkpoint holds {type} state; this optimizer uses {typeof(T).Name}.");
            }

            string model = r.ReadString("model");
            if (model != ModelSignature())
            {
                throw new CheckpointFormatException($"The checkpoint is for another model ({model}); this optimizer's is {ModelSignature()}.");
            }

            long steps = r.ReadInt64("steps");
            double damping = r.ReadDouble("damping");
            double pendingLoss = r.ReadDouble("pendingLoss");
            double pendingChange = r.ReadDouble("pendingPredictedChange");
            int lastBatch = r.ReadInt32("lastBatchSize");
            bool hasPrevious = r.ReadBoolean("hasPreviousUpdate");
            if (steps < 0 || !double.IsFinite(damping) || damping <= 0 || lastBatch < 1
                || double.IsInfinity(pendingLoss) || double.IsInfinity(pendingChange))
            {
                throw new CheckpointFormatException("The checkpoint holds invalid counters or damping.");
            }

            var velocity = Finite(r.ReadValues<T>("velocity", _velocity.Length), "velocity");
            var statistics = Finite(r.ReadValues<T>("statistics", _statistics.Length), "statistics");
            var counts = new (long Updates, double Weight, long Since)[_blocks.Length];
            var representations = new object?[_blocks.Length];
            for (int i = 0; i < _blocks.Length; i++)
            {
                string p = $"layer{i}.";
                long updates = r.ReadInt64(p + "updates");
                double weight = r.ReadDouble(p + "averageWeight");
                long since = r.ReadInt64(p + "updatesSinceRefresh");
                if (updates < 0 || since < 0 || !double.IsFinite(weight) || weight < 0)
                {
                    throw new CheckpointFormatException($"The checkpoint holds invalid counters for layer '{_blocks[i].Layer.Name}'.");
                }

                counts[i] = (updates, weight, since);
                representations[i] = _blocks[i].ReadRepresentation(r, p);
            }

            var specific = ReadOptimizerState(r);
            r.EnsureAtEnd();

            // Everything read and validated: commit.
            foreach (var b in _blocks)
            {
                b.DiscardBackgroundRefresh();
                b.ClearStagedObservation();
            }

            StepCount = steps;
            _damping = damping;
            _pendingLoss = pendingLoss;
            _pendingPredictedChange = pendingChange;
            _lastBatchSize = lastBatch;
            _hasPreviousUpdate = hasPrevious;
            velocity.CopyTo(_velocity, 0);
            statistics.CopyTo(_statistics, 0);
            for (int i = 0; i < _blocks.Length; i++)
            {
                (_blocks[i].UpdateCount, _blocks[i].AverageWeight, _blocks[i].UpdatesSinceRefresh) = counts[i];
                _blocks[i].RestoreRepresentation(representations[i]);
            }

            RestoreOptimizerState(specific);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Stops background workers (waiting for a refresh in flight). Safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var b in _blocks)
        {
            b.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Bytes of optimizer-specific step state (counted with the workspaces, like the momentum).</summary>
    private protected virtual long StateBytes => 0;

    /// <summary>Optimizer-specific step of the direction: by default <c>d = (C + λI)⁻¹ g</c> block by block.</summary>
    private protected virtual void ComputeDirection(ReadOnlySpan<T> statistics, ReadOnlySpan<T> gradient, Span<T> direction)
    {
        foreach (var b in _blocks)
        {
            b.Precondition(Backend, statistics.Slice(b.StatisticsOffset, b.StatisticsLength), _damping, gradient, direction);
        }
    }

    /// <summary>Commits optimizer-specific state after a successful step.</summary>
    private protected virtual void CommitDirectionState()
    {
    }

    /// <summary>Clears optimizer-specific state (see <see cref="Reset"/>).</summary>
    private protected virtual void OnReset()
    {
    }

    private protected virtual void WriteOptimizerState(CheckpointWriter writer)
    {
    }

    private protected virtual object? ReadOptimizerState(CheckpointReader reader) => null;

    private protected virtual void RestoreOptimizerState(object? state)
    {
    }

    /// <summary>The refresh period of the representation (inverse or eigenbasis), in steps.</summary>
    private protected abstract int RefreshPeriod { get; }

    private StepResult Run(bool applyUpdate, double loss, Func<double>? lossAfterUpdate, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long step = StepCount;
        bool adaptive = applyUpdate && _options.DampingAdaptation == DampingAdaptation.LevenbergMarquardt;
        if (adaptive && !double.IsFinite(loss))
        {
            throw Rejected(StepRejectionReason.NonFiniteLoss, $"The loss {loss} is not finite; Levenberg–Marquardt damping needs the batch loss.");
        }

        bool quadratic = applyUpdate && _options.UpdateRule == UpdateRule.QuadraticModel;
        bool needProducts = quadratic || (adaptive && (step % _options.DampingAdaptationInterval == _options.DampingAdaptationInterval - 1));
        if (needProducts && _options.QuadraticModelCurvature == QuadraticModelCurvature.CallerProducts && CurvatureProducts is null)
        {
            throw new InvalidOperationException("The quadratic model uses caller products, but CurvatureProducts is not set.");
        }

        // Background refreshes that finished since the last step are swapped in first (a failed one is reported here).
        bool refreshed = false;
        foreach (var b in _blocks)
        {
            refreshed |= b.CollectBackgroundRefresh(_statistics.AsSpan(b.StatisticsOffset, b.StatisticsLength));
        }

        // 1. The gradient.
        GatherGradient();
        if (!FlatVector.AllFinite<T>(_rawGradient))
        {
            throw Rejected(StepRejectionReason.NonFiniteGradient, $"The gradient of '{FirstNonFiniteParameter()}' holds NaN or infinity.");
        }

        _rawGradient.AsSpan().CopyTo(_gradient);
        if (_options.WeightDecay > 0 && _options.WeightDecayMode == WeightDecayMode.Coupled)
        {
            AddScaledValues(T.CreateChecked(_options.WeightDecay), _gradient);
        }

        double clipScale = 1;
        if (_options.GradientClipNorm is { } maxGradient)
        {
            double norm = FlatVector.Norm<T>(_gradient);
            if (norm > maxGradient)
            {
                FlatVector.Scale<T>(_gradient, T.CreateChecked(maxGradient / norm));
            }
        }

        // 2. Statistics: next = blend(current, batch) for the blocks observed on a statistics step.
        bool statisticsStep = step % _options.StatisticsUpdatePeriod == 0;
        bool anyBlended = false;
        int batchSize = 0;
        foreach (var b in _blocks)
        {
            if (b.UsesObservations && b.HasStagedObservation)
            {
                batchSize = Math.Max(batchSize, b.StagedBatchSize);
            }
        }

        if (batchSize == 0)
        {
            batchSize = _lastBatchSize;
        }

        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            bool blend = statisticsStep && (b.UsesObservations ? b.HasStagedObservation : true);
            _blendedThisStep[i] = blend;
            anyBlended |= blend;
            if (!blend && b.UpdateCount == 0 && (b.NeedsRefresh || b.UsesObservations))
            {
                throw Rejected(StepRejectionReason.MissingStatistics, $"Layer '{b.Layer.Name}' has no curvature statistics yet: observe it before the step.");
            }
        }

        // Refreshes due now: the first one always, then every refresh period (background mode: only the first here).
        bool background = _options.Refresh == RefreshMode.Background;
        bool anyDue = false;
        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            _dueThisStep[i] = b.NeedsRefresh && (!b.HasRepresentation || (!background && IsRefreshStep(step)));
            anyDue |= _dueThisStep[i];
        }

        T[] stats = _statistics;
        bool useNext = anyBlended || anyDue;
        if (useNext)
        {
            for (int i = 0; i < _blocks.Length; i++)
            {
                var b = _blocks[i];
                var current = _statistics.AsSpan(b.StatisticsOffset, b.StatisticsLength);
                var next = _statisticsNext.AsSpan(b.StatisticsOffset, b.StatisticsLength);
                if (_blendedThisStep[i])
                {
                    double weight = NextAverageWeight(b);
                    b.Blend(current, next, T.CreateChecked(1 - (1 / weight)), T.CreateChecked(1 / weight), _rawGradient, batchSize);
                }
                else
                {
                    current.CopyTo(next);
                }
            }

            if (anyBlended)
            {
                StatisticsAllReduce?.AllReduceMean(_statisticsNext);
                if (!FlatVector.AllFinite<T>(_statisticsNext))
                {
                    throw Rejected(StepRejectionReason.NonFiniteStatistics, "The updated curvature statistics hold NaN or infinity.");
                }
            }

            stats = _statisticsNext;
        }

        // 3. Synchronous refreshes (revertible until the commit).
        Array.Clear(_refreshedThisStep);
        try
        {
            for (int i = 0; i < _blocks.Length; i++)
            {
                if (_dueThisStep[i])
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var b = _blocks[i];
                    b.Refresh(Backend, stats.AsSpan(b.StatisticsOffset, b.StatisticsLength), _damping);
                    _refreshedThisStep[i] = true;
                    refreshed = true;
                }
            }

            // 4. Direction.
            cancellationToken.ThrowIfCancellationRequested();
            ComputeDirection(stats, _gradient, _direction);
            cancellationToken.ThrowIfCancellationRequested();
            if (!FlatVector.AllFinite<T>(_direction))
            {
                throw Rejected(StepRejectionReason.NonFiniteUpdate, "The preconditioned gradient holds NaN or infinity.");
            }

            double effectiveRate = 0, effectiveMomentum = 0, predicted = double.NaN;
            if (!applyUpdate)
            {
                if (_options.KlClip is { } kl)
                {
                    clipScale = KlScale(kl, LearningRate);
                    FlatVector.Scale<T>(_direction, T.CreateChecked(clipScale));
                }
            }
            else if (!quadratic)
            {
                double rate = LearningRate;
                if (!double.IsFinite(rate) || rate < 0)
                {
                    throw new InvalidOperationException($"The learning-rate schedule returned {rate} for step {step}.");
                }

                if (_options.KlClip is { } kl)
                {
                    clipScale = KlScale(kl, rate);
                    FlatVector.Scale<T>(_direction, T.CreateChecked(clipScale));
                }

                // v ← μ v + d; δ = −η v (torch.optim.SGD with momentum, dampening 0).
                T mu = T.CreateChecked(_options.Momentum);
                T minusRate = T.CreateChecked(-rate);
                for (int k = 0; k < _update.Length; k++)
                {
                    T v = (_hasPreviousUpdate ? mu * _velocity[k] : T.Zero) + _direction[k];
                    _velocityNext[k] = v;
                    _update[k] = minusRate * v;
                }

                effectiveRate = rate;
                effectiveMomentum = _options.Momentum;
            }
            else
            {
                (effectiveRate, effectiveMomentum, predicted) = QuadraticModelUpdate(stats);
            }

            if (applyUpdate)
            {
                if (_options.WeightDecay > 0 && _options.WeightDecayMode == WeightDecayMode.Decoupled)
                {
                    AddScaledValues(T.CreateChecked(-effectiveRate * _options.WeightDecay), _update);
                }

                if (_options.UpdateClipNorm is { } maxUpdate)
                {
                    double norm = FlatVector.Norm<T>(_update);
                    if (norm > maxUpdate)
                    {
                        double s = maxUpdate / norm;
                        FlatVector.Scale<T>(_update, T.CreateChecked(s));
                        clipScale *= s;
                        if (double.IsFinite(predicted))
                        {
                            predicted = double.NaN; // recomputed below from the clipped update
                        }
                    }
                }

                if (!FlatVector.AllFinite<T>(_update))
                {
                    throw Rejected(StepRejectionReason.NonFiniteUpdate, "The update holds NaN or infinity.");
                }

                bool measuring = adaptive && step % _options.DampingAdaptationInterval == _options.DampingAdaptationInterval - 1;
                if (measuring && !double.IsFinite(predicted))
                {
                    predicted = PredictedChange(stats, _update);
                }
            }

            // 5. Commit.
            return Commit(applyUpdate, step, loss, lossAfterUpdate, useNext, anyBlended, refreshed, effectiveRate, effectiveMomentum, predicted, clipScale, batchSize);
        }
        catch
        {
            for (int i = 0; i < _blocks.Length; i++)
            {
                if (_refreshedThisStep[i])
                {
                    _blocks[i].RevertRefresh();
                }
            }

            throw;
        }
    }

    private StepResult Commit(bool applyUpdate, long step, double loss, Func<double>? lossAfterUpdate, bool swapStatistics, bool anyBlended, bool refreshed,
        double rate, double momentum, double predicted, double clipScale, int batchSize)
    {
        if (swapStatistics)
        {
            (_statistics, _statisticsNext) = (_statisticsNext, _statistics);
        }

        if (anyBlended)
        {
            _lastBatchSize = batchSize;
        }

        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            if (_blendedThisStep[i])
            {
                b.AverageWeight = NextAverageWeight(b);
                b.UpdateCount++;
                b.UpdatesSinceRefresh++;
                b.ClearStagedObservation();
            }

            if (_refreshedThisStep[i])
            {
                b.UpdatesSinceRefresh = 0;
            }

            b.OnCommitted(_refreshedThisStep[i]);
            if (b.NeedsRefresh)
            {
                // How many statistics updates the inverse or eigenbasis this step used is behind.
                CurvatureMetrics.RecordInverseLag<T>(b.UpdatesSinceRefresh);
            }
        }

        double norm = 0;
        double ratio = double.NaN;
        double usedDamping = _damping;

        // State the direction itself depends on (AdaFisher's first moment) advances with every step, Precondition included.
        CommitDirectionState();
        if (applyUpdate)
        {
            for (int p = 0; p < _values.Length; p++)
            {
                var values = _values[p].Span;
                ReadOnlySpan<T> delta = _update.AsSpan(_parameterOffsets[p], values.Length);
                for (int k = 0; k < values.Length; k++)
                {
                    values[k] += delta[k];
                }
            }

            norm = FlatVector.Norm<T>(_update);
            if (_options.UpdateRule == UpdateRule.LearningRate)
            {
                _velocityNext.AsSpan().CopyTo(_velocity);
            }
            else
            {
                _update.AsSpan().CopyTo(_velocity);
            }

            _hasPreviousUpdate = true;

            // Levenberg–Marquardt: ρ of the step measured now (same batch) or at the next step (next batch).
            if (_options.DampingAdaptation == DampingAdaptation.LevenbergMarquardt)
            {
                if (double.IsFinite(_pendingPredictedChange))
                {
                    ratio = AdaptDamping(loss - _pendingLoss, _pendingPredictedChange);
                    _pendingLoss = double.NaN;
                    _pendingPredictedChange = double.NaN;
                }

                if (double.IsFinite(predicted) && step % _options.DampingAdaptationInterval == _options.DampingAdaptationInterval - 1)
                {
                    if (lossAfterUpdate is not null)
                    {
                        ratio = AdaptDamping(lossAfterUpdate() - loss, predicted);
                    }
                    else
                    {
                        _pendingLoss = loss;
                        _pendingPredictedChange = predicted;
                    }
                }
            }
        }
        else
        {
            // Precondition: the direction replaces the bound gradients.
            for (int p = 0; p < _gradients.Length; p++)
            {
                var g = _gradients[p].Span;
                _direction.AsSpan(_parameterOffsets[p], g.Length).CopyTo(g);
            }
        }

        StepCount = step + 1;

        // Background refreshes due at this step start from the committed statistics.
        if (_options.Refresh == RefreshMode.Background && IsRefreshStep(step))
        {
            foreach (var b in _blocks)
            {
                if (b.NeedsRefresh && b.UpdatesSinceRefresh > 0 && !b.IsRefreshPending)
                {
                    b.StartBackgroundRefresh(_statistics.AsSpan(b.StatisticsOffset, b.StatisticsLength), _damping);
                    b.UpdatesSinceRefresh = 0;
                }
            }
        }

        return new StepResult(step, rate, momentum, usedDamping, predicted, ratio, clipScale, norm, anyBlended, refreshed);
    }

    private bool IsRefreshStep(long step) => step % RefreshPeriod == 0;

    private static StepRejectedException Rejected(StepRejectionReason reason, string message)
    {
        CurvatureMetrics.RecordStepRejected(reason switch
        {
            StepRejectionReason.NonFiniteGradient => "non_finite_gradient",
            StepRejectionReason.NonFiniteUpdate => "non_finite_update",
            StepRejectionReason.NonFiniteStatistics => "non_finite_statistics",
            StepRejectionReason.MissingStatistics => "missing_statistics",
            _ => "non_finite_loss",
        });
        return new StepRejectedException(reason, message);
    }

    private double NextAverageWeight(CurvatureBlock<T> b) =>
        (b.UpdateCount < _options.BurnInUpdates ? b.AverageWeight : _options.StatisticsDecay * b.AverageWeight) + 1;

    /// <summary>Levenberg–Marquardt rule (Martens &amp; Grosse 2015, §6.5): returns ρ and updates λ.</summary>
    private double AdaptDamping(double actualChange, double predictedChange)
    {
        double rho = LevenbergMarquardt.ReductionRatio(actualChange, predictedChange);
        _damping = LevenbergMarquardt.Adapt(_damping, rho, _options.DampingAdaptationDecay, _options.DampingAdaptationInterval, _options.MinDamping, _options.MaxDamping);
        return rho;
    }

    /// <summary>kfac-pytorch's KL clip: ν = min(1, √(κ / (η² Σ dᵀg))).</summary>
    private double KlScale(double kl, double rate)
    {
        double vg = FlatVector.Dot<T>(_direction, _gradient) * rate * rate;
        return vg > 0 ? Math.Min(1, Math.Sqrt(kl / vg)) : 1;
    }

    /// <summary>
    /// The quadratic-model coefficients (Martens &amp; Grosse 2015, §7; KFAC-JAX): with Δ the preconditioned gradient and
    /// δ₀ the previous update, <c>A_ij = v_iᵀ(C + η)v_j</c>, <c>D_ij = v_iᵀv_j</c>, <c>b_i = gᵀv_i</c>, the update
    /// <c>δ = w₁Δ + w₂δ₀</c> with <c>w = −(A + λD)⁻¹ b</c>; returns (−w₁, w₂, M(δ) = ½wᵀAw + wᵀb).
    /// </summary>
    private (double Rate, double Momentum, double Predicted) QuadraticModelUpdate(ReadOnlySpan<T> statistics)
    {
        int n = _gradient.Length;
        _productA ??= new T[n];
        bool withMomentum = _hasPreviousUpdate && _options.Momentum > 0;
        double eta = _options.WeightDecayMode == WeightDecayMode.Coupled ? _options.WeightDecay : 0;
        MultiplyCurvature(statistics, _direction, _productA);
        double a11 = FlatVector.Dot<T>(_direction, _productA);
        double d11 = FlatVector.Dot<T>(_direction, _direction);
        double b1 = FlatVector.Dot<T>(_gradient, _direction);
        QuadraticModel.Solution w;
        if (withMomentum)
        {
            _productB ??= new T[n];
            MultiplyCurvature(statistics, _velocity, _productB);
            double a12 = FlatVector.Dot<T>(_direction, _productB);
            double a22 = FlatVector.Dot<T>(_velocity, _productB);
            double d12 = FlatVector.Dot<T>(_direction, _velocity);
            double d22 = FlatVector.Dot<T>(_velocity, _velocity);
            double b2 = FlatVector.Dot<T>(_gradient, _velocity);
            w = QuadraticModel.Solve(a11 + (eta * d11), a12 + (eta * d12), a22 + (eta * d22), d11, d12, d22, b1, b2, _damping);
        }
        else
        {
            w = QuadraticModel.Solve(a11 + (eta * d11), d11, b1, _damping);
        }

        T w1 = T.CreateChecked(w.First), w2 = T.CreateChecked(w.Second);
        for (int k = 0; k < n; k++)
        {
            _update[k] = (w1 * _direction[k]) + (withMomentum ? w2 * _velocity[k] : T.Zero);
        }

        return (-w.First, w.Second, w.PredictedChange);
    }

    /// <summary>M(δ) = ½ δᵀ(C + η)δ + gᵀδ for the update of the learning-rate rule.</summary>
    private double PredictedChange(ReadOnlySpan<T> statistics, ReadOnlySpan<T> update)
    {
        _productA ??= new T[_gradient.Length];
        MultiplyCurvature(statistics, update, _productA);
        double eta = _options.WeightDecayMode == WeightDecayMode.Coupled ? _options.WeightDecay : 0;
        double quadratic = FlatVector.Dot(update, (ReadOnlySpan<T>)_productA) + (eta * FlatVector.Dot(update, update));
        return (0.5 * quadratic) + FlatVector.Dot(update, (ReadOnlySpan<T>)_gradient);
    }

    private void MultiplyCurvature(ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result)
    {
        if (_options.QuadraticModelCurvature == QuadraticModelCurvature.CallerProducts)
        {
            CurvatureProducts!.Multiply(vector, result);
            return;
        }

        foreach (var b in _blocks)
        {
            b.Multiply(Backend, statistics.Slice(b.StatisticsOffset, b.StatisticsLength), vector, result);
        }
    }

    private void GatherGradient()
    {
        for (int p = 0; p < _gradients.Length; p++)
        {
            var g = _gradients[p].Span;
            g.CopyTo(_rawGradient.AsSpan(_parameterOffsets[p], g.Length));
        }
    }

    /// <summary>target ← target + s·θ over all parameters.</summary>
    private void AddScaledValues(T s, Span<T> target)
    {
        for (int p = 0; p < _values.Length; p++)
        {
            ReadOnlySpan<T> values = _values[p].Span;
            Span<T> t = target.Slice(_parameterOffsets[p], values.Length);
            for (int k = 0; k < values.Length; k++)
            {
                t[k] += s * values[k];
            }
        }
    }

    private string FirstNonFiniteParameter()
    {
        for (int p = 0; p < _gradients.Length; p++)
        {
            if (!FlatVector.AllFinite<T>(_gradients[p].Span))
            {
                return Model.Parameters[p].Name;
            }
        }

        return "?";
    }

    private CurvatureBlock<T> ObservedBlock(string layer)
    {
        if (!_blockByLayer.TryGetValue(layer, out int index))
        {
            throw new ArgumentException($"The model has no layer named '{layer}'.", nameof(layer));
        }

        var block = _blocks[index];
        if (!block.UsesObservations)
        {
            throw new ArgumentException($"Layer '{layer}' is a {block.Layer.Kind}: its curvature comes from its gradient, not from observations.", nameof(layer));
        }

        return block;
    }

    private ReadOnlySpan<T> Contiguous(ReadOnlySpan2D<T> matrix, int scratchOffset)
    {
        if (matrix.TryGetSpan(out var span))
        {
            return span;
        }

        int needed = scratchOffset + (int)matrix.Length;
        if (_denseScratch.Length < needed)
        {
            Array.Resize(ref _denseScratch, needed);
        }

        var target = new Span2D<T>(_denseScratch, scratchOffset, matrix.Height, matrix.Width, 0);
        matrix.CopyTo(target);
        return _denseScratch.AsSpan(scratchOffset, (int)matrix.Length);
    }

    private string ModelSignature() => string.Join(";", Model.Layers.Select(l => $"{l.Name}:{l.Kind}:{string.Join("x", l.WeightShape.ToArray())}:{(l.HasBias ? "b" : "")}")) + (Model.SeparateWeightAndBias ? ";separate" : ";joint");

    private void WaitForBlocks()
    {
        foreach (var b in _blocks)
        {
            b.WaitForBackgroundRefresh();
        }
    }

    private static T[] Finite(T[] values, string name)
    {
        if (!FlatVector.AllFinite<T>(values))
        {
            throw new CheckpointFormatException($"Checkpoint entry '{name}' contains NaN or infinity.");
        }

        return values;
    }

    private static Memory<T> Resolve(ParameterSet set, ParameterSpec spec, string parameter)
    {
        if (!set.TryGetValue(spec.Name, out var tensor))
        {
            throw new ArgumentException($"The {parameter} have no tensor named '{spec.Name}'.", parameter);
        }

        if (tensor is not NamedTensor<T> typed)
        {
            throw new ArgumentException($"Tensor '{spec.Name}' of the {parameter} holds {tensor.ElementType.Name}; this optimizer uses {typeof(T).Name}.", parameter);
        }

        if (!typed.Shape.SequenceEqual(spec.Shape))
        {
            throw new ArgumentException($"Tensor '{spec.Name}' of the {parameter} has shape {typed.ShapeText}; the model says [{string.Join(", ", spec.Shape)}].", parameter);
        }

        return typed.Data;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void Enter()
    {
        ThrowIfDisposed();
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("This optimizer is already in a call on another thread; an instance must be used from one thread at a time.");
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);
}
