using System.Numerics;
using System.Runtime.ExceptionServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac.Internals;
using Curvature.Serialization;

namespace Curvature.Kfac;

/// <summary>
/// K-FAC for one dense layer with running factor averages (Martens &amp; Grosse 2015): <c>A = E[a aᵀ]</c> and
/// <c>G = E[g gᵀ]</c> over a batch, kept as exponential moving averages (the first update replaces), damped and inverted
/// for the natural gradient <c>G⁻¹ ∇W A⁻¹</c>.
/// </summary>
/// <remarks>
/// <para>Factor updates are one BLAS <c>?SYRK</c> per factor with <c>α = (1 − ε)/B</c>, <c>β = ε</c>; inverses are LAPACK
/// <c>?POTRF</c> + <c>?POTRI</c> (or <c>?SYEVD</c> for exact damping), cached and refreshed according to
/// <see cref="KfacPreconditionerOptions.InverseUpdatePeriod"/>; the natural gradient is two <c>?GEMM</c>s. After
/// construction, <see cref="Update"/> and <see cref="NaturalGradient"/> allocate nothing (on a backend whose kernels do
/// not allocate).</para>
/// <para>Every rejected call (wrong shapes, empty batch, NaN/∞, negative damping, a factor that is not positive definite)
/// leaves the factors and the cached inverses exactly as they were. Not thread-safe: one caller thread at a time.</para>
/// <para>With <see cref="KfacInverseRefresh.Background"/> (<see cref="KfacPreconditionerOptions.InverseRefresh"/>) a due
/// refresh snapshots the factors (into preallocated buffers) at the end of <see cref="Update"/> and recomputes the inverses on
/// a dedicated worker thread; the finished inverse is swapped in at the caller's next call (double-buffered: a step never
/// uses a half-written inverse) and <see cref="NaturalGradient"/> uses the latest complete one, waiting only when there is
/// none yet. <see cref="InverseLag"/> says how stale it is; <see cref="WaitForPendingRefresh"/> waits for the job in
/// flight. A refresh that fails (a damped factor not positive definite) keeps the previous inverse and rethrows its
/// exception from the caller's next call, which then changes nothing. The worker calls the same backend concurrently
/// with the caller, so the backend must be safe to call from two threads: the managed backend is (per-thread kernel
/// scratch), native backends are at one BLAS thread per call (their default). <see cref="Dispose"/> stops the worker.</para>
/// </remarks>
public sealed class KfacLayerPreconditioner<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    internal const string CheckpointKind = "Curvature.KfacLayerPreconditioner";
    private const int SchemaVersion = 1;

    private readonly CurvatureBackend _backend;
    private readonly T[] _inputFactor;
    private readonly T[] _gradientFactor;
    private KroneckerBlockInverse<T> _inverse;
    private readonly T[] _packed;
    private readonly T[] _scratch;
    private readonly string _context;
    private KfacPreconditionerOptions _options;
    private KfacInverseOptions _inverseOptions;
    private long _updatesSinceInverse;
    private long _inverseLag;
    private BackgroundInverseWorker<T>? _worker;
    private ExceptionDispatchInfo? _refreshError;
    private bool _disposed;

    /// <summary>Creates the preconditioner with zero factors.</summary>
    /// <param name="backend">The dense kernels.</param>
    /// <param name="inputSize">Width of the activations <c>a</c> (weight columns).</param>
    /// <param name="outputSize">Width of the output gradients <c>g</c> (weight rows).</param>
    /// <param name="options">Damping, EMA and refresh settings (defaults: the seed's).</param>
    public KfacLayerPreconditioner(CurvatureBackend backend, int inputSize, int outputSize, KfacPreconditionerOptions? options = null)
        : this(backend, inputSize, outputSize, options, "the K-FAC layer")
    {
    }

    internal KfacLayerPreconditioner(CurvatureBackend backend, int inputSize, int outputSize, KfacPreconditionerOptions? options, string context)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        options ??= new KfacPreconditionerOptions();
        options.Validate();
        _backend = backend;
        InputSize = inputSize;
        OutputSize = outputSize;
        _options = options;
        _inverseOptions = options.ToInverseOptions();
        _inputFactor = new T[inputSize * inputSize];
        _gradientFactor = new T[outputSize * outputSize];
        _inverse = new KroneckerBlockInverse<T>(outputSize, inputSize);
        _packed = new T[inputSize * outputSize];
        _scratch = new T[inputSize * outputSize];
        _context = context;
    }

    /// <summary>Width of the activations (order of A).</summary>
    public int InputSize { get; }

    /// <summary>Width of the output gradients (order of G).</summary>
    public int OutputSize { get; }

    /// <summary>The current settings.</summary>
    public KfacPreconditionerOptions Options => _options;

    /// <summary>The damping δ; setting it (≥ 0, finite) invalidates the cached inverses.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or non-finite damping (nothing changes).</exception>
    public double Damping
    {
        get => _options.Damping;
        set => Configure(_options with { Damping = value });
    }

    /// <summary>Number of factor updates since construction or <see cref="Reset"/>.</summary>
    public long UpdateCount { get; private set; }

    /// <summary>The running input factor A (<c>InputSize × InputSize</c>).</summary>
    public ReadOnlySpan2D<T> InputFactor => new(_inputFactor, InputSize, InputSize);

    /// <summary>The running gradient factor G (<c>OutputSize × OutputSize</c>).</summary>
    public ReadOnlySpan2D<T> GradientFactor => new(_gradientFactor, OutputSize, OutputSize);

    /// <summary>True when the cached inverses are current (they are refreshed lazily by <see cref="NaturalGradient"/>).</summary>
    public bool InverseIsCurrent => _inverse.IsComputed && _inverseLag == 0;

    /// <summary>How many factor updates the inverse in use lags behind the factors (0 when current).</summary>
    public long InverseLag => _inverseLag;

    /// <summary>True while a background refresh is in flight or finished but not yet swapped in.</summary>
    public bool IsRefreshPending => _worker is { InFlight: true };

    /// <summary>
    /// Replaces the settings (validated first; nothing changes on error). Invalidates the cached inverses; a background
    /// refresh in flight is waited for and discarded (its error too).
    /// </summary>
    public void Configure(KfacPreconditionerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        DiscardPending();
        _options = options;
        _inverseOptions = options.ToInverseOptions();
        _inverse.Invalidate();
    }

    /// <summary>Adds a batch: <c>A ← ε A + (1 − ε) aᵀa/B</c>, <c>G ← ε G + (1 − ε) gᵀg/B</c> (the first update replaces).</summary>
    /// <param name="activations">Layer inputs, <c>B × InputSize</c>.</param>
    /// <param name="gradients">Per-example output gradients, <c>B × OutputSize</c> (as curvlinops' K-FAC:
    /// with a mean-reduced loss, backpropagated vectors carry 1/B, so pass B·g).</param>
    /// <exception cref="ArgumentException">Empty batch, mismatched shapes or non-finite values (nothing changes).</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A background refresh failed (nothing changes; the previous inverse stays).</exception>
    /// <exception cref="ObjectDisposedException">The preconditioner was disposed.</exception>
    /// <remarks>BLAS <c>?SYRK</c>. In background mode, starts the refresh when it becomes due.</remarks>
    public void Update(ReadOnlySpan2D<T> activations, ReadOnlySpan2D<T> gradients)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateBatch(activations, gradients);
        CollectBackground();
        int batch = activations.Height;
        bool first = UpdateCount == 0;
        double decay = first ? 0 : _options.EmaDecay;
        T alpha = T.CreateChecked((1 - decay) / batch);
        T beta = T.CreateChecked(decay);
        var a = new Span2D<T>(_inputFactor, InputSize, InputSize);
        var g = new Span2D<T>(_gradientFactor, OutputSize, OutputSize);
        _backend.SymmetricRankKUpdate(activations, RankKForm.TransposeTimesMatrix, a, Triangle.Lower, alpha, beta);
        _backend.SymmetricRankKUpdate(gradients, RankKForm.TransposeTimesMatrix, g, Triangle.Lower, alpha, beta);
        FactorMath.MirrorLower(a);
        FactorMath.MirrorLower(g);
        UpdateCount++;
        _updatesSinceInverse++;
        _inverseLag++;
        if (_options.InverseRefresh == KfacInverseRefresh.Background)
        {
            StartBackgroundIfDue();
        }
    }

    /// <summary>
    /// Refreshes the cached inverses now if they are due (see <see cref="KfacPreconditionerOptions.InverseUpdatePeriod"/>);
    /// in background mode the refresh runs on the worker and this call waits for it.
    /// </summary>
    /// <exception cref="InvalidOperationException">No update has been made yet.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped factor is not positive definite (the previous inverses stay).</exception>
    /// <exception cref="ObjectDisposedException">The preconditioner was disposed.</exception>
    public void RefreshInverse()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CollectBackground();
        ThrowIfNoUpdate();

        if (_options.InverseRefresh == KfacInverseRefresh.Background)
        {
            StartBackgroundIfDue();
            WaitForPendingRefresh();
            return;
        }

        if (!_inverse.IsComputed || _updatesSinceInverse >= _options.InverseUpdatePeriod)
        {
            _inverse.Compute(_backend, _gradientFactor, _inputFactor, _inverseOptions, _context);
            _updatesSinceInverse = 0;
            _inverseLag = 0;
        }
    }

    /// <summary>
    /// Waits for the background refresh in flight (if any) and swaps its inverse in; if a further refresh became due
    /// meanwhile, starts and waits for that one too, so afterwards nothing is pending or due. Returns at once when there is
    /// nothing in flight (always in synchronous mode).
    /// </summary>
    /// <exception cref="MatrixNotPositiveDefiniteException">The background refresh failed (the previous inverse stays).</exception>
    public void WaitForPendingRefresh()
    {
        SettlePending();
        CollectBackground();
    }

    /// <summary>Waits for a background refresh in flight and stops the worker thread. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _worker?.Dispose();
        _worker = null;
    }

    /// <summary>The natural gradient <c>(G + δ_G I)⁻¹ ∇W (A + δ_A I)⁻¹</c> (or the exactly damped product inverse).</summary>
    /// <param name="weightGradient">∇W, <c>OutputSize × InputSize</c>.</param>
    /// <param name="destination">The result, same shape; may not overlap the gradient.</param>
    /// <exception cref="ArgumentException">Shapes do not match or the gradient is not finite.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped factor is not positive definite (in background mode: the
    /// refresh that failed; the previous inverse stays).</exception>
    /// <exception cref="ObjectDisposedException">The preconditioner was disposed.</exception>
    /// <remarks>BLAS <c>?GEMM</c> (two products) after a cached or refreshed inverse. In background mode, uses the latest
    /// complete inverse and waits only when there is none yet.</remarks>
    public void NaturalGradient(ReadOnlySpan2D<T> weightGradient, Span2D<T> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (weightGradient.Height != OutputSize || weightGradient.Width != InputSize)
        {
            throw new ArgumentException($"The weight gradient must be {OutputSize} × {InputSize}, but it is {weightGradient.Height} × {weightGradient.Width}.", nameof(weightGradient));
        }

        if (destination.Height != OutputSize || destination.Width != InputSize)
        {
            throw new ArgumentException($"The destination must be {OutputSize} × {InputSize}, but it is {destination.Height} × {destination.Width}.", nameof(destination));
        }

        if (!FactorMath.AllFinite(weightGradient))
        {
            throw new ArgumentException("The weight gradient contains NaN or infinity.", nameof(weightGradient));
        }

        if (_options.InverseRefresh == KfacInverseRefresh.Background)
        {
            CollectBackground();
            ThrowIfNoUpdate();

            StartBackgroundIfDue();
            if (!_inverse.IsComputed)
            {
                WaitForPendingRefresh();
            }
        }
        else
        {
            RefreshInverse();
        }

        var packed = new Span2D<T>(_packed, OutputSize, InputSize);
        weightGradient.CopyTo(packed);
        _inverse.ApplyPacked(_backend, packed, new Span2D<T>(_scratch, OutputSize, InputSize), 1);
        packed.CopyTo(destination);
    }

    /// <summary>Zeroes the factors and the update count and drops the cached inverses (a background refresh in flight is waited for and discarded).</summary>
    public void Reset()
    {
        DiscardPending();
        Array.Clear(_inputFactor);
        Array.Clear(_gradientFactor);
        UpdateCount = 0;
        _updatesSinceInverse = 0;
        _inverseLag = 0;
        _inverse.Invalidate();
    }

    /// <summary>
    /// Writes the running state (settings, factors, counts, cached inverses) as a checkpoint. A background refresh in
    /// flight is waited for and swapped in first (a failed one is reported by the next call, not here).
    /// </summary>
    public void Save(Stream destination)
    {
        var writer = new CheckpointWriter(destination, CheckpointKind, SchemaVersion);
        WriteEntries(writer, "");
        writer.Complete();
    }

    /// <summary>Restores a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="CheckpointFormatException">The stream is truncated, corrupted, of another kind, or for other sizes or element type; the state is untouched.</exception>
    /// <remarks>Keeps this preconditioner's <see cref="KfacPreconditionerOptions.InverseRefresh"/>; a background refresh in flight is discarded.</remarks>
    public void Load(Stream source)
    {
        var reader = CheckpointReader.Open(source, CheckpointKind, SchemaVersion);
        var state = ReadEntries(reader, "");
        reader.EnsureAtEnd();
        Commit(state);
    }

    /// <summary>True when a background refresh has finished but was not yet collected (tests wait on it).</summary>
    internal bool BackgroundRefreshFinishedForTests => _worker is { InFlight: true, IsCompleted: true };

    internal (T[] A, T[] G, T[] InverseLeft, T[] InverseRight) SnapshotForTests() =>
        ((T[])_inputFactor.Clone(), (T[])_gradientFactor.Clone(), (T[])_inverse.Front.G.Clone(), (T[])_inverse.Front.A.Clone());

    internal void WriteEntries(CheckpointWriter w, string prefix)
    {
        SettlePending();
        w.WriteString(prefix + "elementType", typeof(T).Name);
        w.WriteInt32(prefix + "inputSize", InputSize);
        w.WriteInt32(prefix + "outputSize", OutputSize);
        w.WriteDouble(prefix + "damping", _options.Damping);
        w.WriteInt32(prefix + "dampingMode", (int)_options.DampingMode);
        w.WriteDouble(prefix + "minDamping", _options.MinDamping);
        w.WriteDouble(prefix + "emaDecay", _options.EmaDecay);
        w.WriteInt32(prefix + "inverseUpdatePeriod", _options.InverseUpdatePeriod);
        w.WriteInt64(prefix + "updateCount", UpdateCount);
        w.WriteInt64(prefix + "updatesSinceInverse", _updatesSinceInverse);
        w.WriteValues<T>(prefix + "inputFactor", _inputFactor);
        w.WriteValues<T>(prefix + "gradientFactor", _gradientFactor);
        w.WriteBoolean(prefix + "hasInverse", _inverse.IsComputed);
        if (_inverse.IsComputed)
        {
            var f = _inverse.Front;
            w.WriteInt32(prefix + "inverseMode", (int)_inverse.Mode);
            w.WriteDouble(prefix + "inverseDamping", _inverse.ExactDamping);
            w.WriteDouble(prefix + "inverseDampingG", _inverse.Dampings.Gradient);
            w.WriteDouble(prefix + "inverseDampingA", _inverse.Dampings.Input);
            w.WriteValues<T>(prefix + "inverseLeft", f.G);
            w.WriteValues<T>(prefix + "inverseRight", f.A);
            w.WriteValues<T>(prefix + "inverseLeftValues", f.GValues);
            w.WriteValues<T>(prefix + "inverseRightValues", f.AValues);
        }
    }

    internal SavedState ReadEntries(CheckpointReader r, string prefix)
    {
        string type = r.ReadString(prefix + "elementType");
        if (type != typeof(T).Name)
        {
            throw new CheckpointFormatException($"The checkpoint holds {type} factors; this preconditioner uses {typeof(T).Name}.");
        }

        int inSize = r.ReadInt32(prefix + "inputSize"), outSize = r.ReadInt32(prefix + "outputSize");
        if (inSize != InputSize || outSize != OutputSize)
        {
            throw new CheckpointFormatException($"The checkpoint is for a {outSize} × {inSize} layer; this preconditioner is {OutputSize} × {InputSize}.");
        }

        KfacPreconditionerOptions options;
        try
        {
            options = _options with
            {
                Damping = r.ReadDouble(prefix + "damping"),
                DampingMode = (DampingMode)r.ReadInt32(prefix + "dampingMode"),
                MinDamping = r.ReadDouble(prefix + "minDamping"),
                EmaDecay = r.ReadDouble(prefix + "emaDecay"),
                InverseUpdatePeriod = r.ReadInt32(prefix + "inverseUpdatePeriod"),
            };
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException($"The checkpoint holds invalid settings: {e.Message}", e);
        }

        long updates = r.ReadInt64(prefix + "updateCount"), since = r.ReadInt64(prefix + "updatesSinceInverse");
        if (updates < 0 || since < 0 || since > updates)
        {
            throw new CheckpointFormatException($"The checkpoint holds invalid update counts ({updates}, {since}).");
        }

        var state = new SavedState
        {
            Options = options,
            UpdateCount = updates,
            UpdatesSinceInverse = since,
            InputFactor = CheckFinite(r.ReadValues<T>(prefix + "inputFactor", InputSize * InputSize), "inputFactor"),
            GradientFactor = CheckFinite(r.ReadValues<T>(prefix + "gradientFactor", OutputSize * OutputSize), "gradientFactor"),
        };
        if (r.ReadBoolean(prefix + "hasInverse"))
        {
            int mode = r.ReadInt32(prefix + "inverseMode");
            if (mode is < 0 or > (int)DampingMode.TraceScaled)
            {
                throw new CheckpointFormatException($"The checkpoint holds an unknown damping mode {mode}.");
            }

            state.InverseMode = (DampingMode)mode;
            state.InverseDamping = r.ReadDouble(prefix + "inverseDamping");
            state.InverseDampings = new FactorDamping(r.ReadDouble(prefix + "inverseDampingG"), r.ReadDouble(prefix + "inverseDampingA"));
            state.InverseLeft = CheckFinite(r.ReadValues<T>(prefix + "inverseLeft", OutputSize * OutputSize), "inverseLeft");
            state.InverseRight = CheckFinite(r.ReadValues<T>(prefix + "inverseRight", InputSize * InputSize), "inverseRight");
            state.InverseLeftValues = CheckFinite(r.ReadValues<T>(prefix + "inverseLeftValues", OutputSize), "inverseLeftValues");
            state.InverseRightValues = CheckFinite(r.ReadValues<T>(prefix + "inverseRightValues", InputSize), "inverseRightValues");
        }

        return state;
    }

    internal void Commit(SavedState s)
    {
        DiscardPending();
        _refreshError = null;
        _options = s.Options;
        _inverseOptions = s.Options.ToInverseOptions();
        UpdateCount = s.UpdateCount;
        _updatesSinceInverse = s.UpdatesSinceInverse;
        _inverseLag = s.UpdatesSinceInverse;
        s.InputFactor.CopyTo(_inputFactor, 0);
        s.GradientFactor.CopyTo(_gradientFactor, 0);
        if (s.InverseLeft is null)
        {
            _inverse.Invalidate();
        }
        else
        {
            _inverse.Restore(s.InverseMode, s.InverseDamping, s.InverseDampings, s.InverseLeft, s.InverseRight!, s.InverseLeftValues!, s.InverseRightValues!);
        }
    }

    private void ThrowIfNoUpdate()
    {
        if (UpdateCount == 0)
        {
            throw new InvalidOperationException("The K-FAC factors are empty: call Update with a batch first.");
        }
    }

    private void StartBackgroundIfDue()
    {
        if (UpdateCount == 0 || (_worker is { InFlight: true }) || (_inverse.IsComputed && _updatesSinceInverse < _options.InverseUpdatePeriod))
        {
            return;
        }

        _worker ??= new BackgroundInverseWorker<T>(_backend, OutputSize, InputSize, _context);
        _worker.Start(_gradientFactor, _inputFactor, _inverseOptions);
        _updatesSinceInverse = 0;
    }

    /// <summary>Swaps in a finished background inverse; rethrows a failed refresh's exception (once).</summary>
    private void CollectBackground()
    {
        SettleFinished();
        if (_refreshError is { } error)
        {
            _refreshError = null;
            error.Throw();
        }
    }

    private void SettleFinished()
    {
        if (_worker is null || !_worker.TryTake(ref _inverse, out var error))
        {
            return;
        }

        if (error is null)
        {
            _inverseLag = _updatesSinceInverse;
            if (!_disposed && _options.InverseRefresh == KfacInverseRefresh.Background)
            {
                // Updates arrived while the job ran and another refresh is due: keep the worker busy.
                StartBackgroundIfDue();
            }
        }
        else
        {
            // As in synchronous mode, a failed refresh leaves the counters so that the refresh is due again.
            _updatesSinceInverse = _inverseLag;
            _refreshError = error;
        }
    }

    /// <summary>Waits until no refresh is in flight (a due follow-up refresh included); a failure is kept for the next call.</summary>
    private void SettlePending()
    {
        while (_worker is { InFlight: true } worker && _refreshError is null)
        {
            worker.Wait();
            SettleFinished();
        }
    }

    private void DiscardPending()
    {
        _worker?.Discard();
        _refreshError = null;
    }

    private static T[] CheckFinite(T[] values, string name)
    {
        if (!FactorMath.AllFinite<T>(values))
        {
            throw new CheckpointFormatException($"Checkpoint entry '{name}' contains NaN or infinity.");
        }

        return values;
    }

    private void ValidateBatch(ReadOnlySpan2D<T> activations, ReadOnlySpan2D<T> gradients)
    {
        if (activations.Height == 0 || gradients.Height == 0 || activations.Width == 0 || gradients.Width == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(activations));
        }

        if (activations.Width != InputSize)
        {
            throw new ArgumentException($"Activations must have {InputSize} columns, but they have {activations.Width}.", nameof(activations));
        }

        if (gradients.Width != OutputSize)
        {
            throw new ArgumentException($"Gradients must have {OutputSize} columns, but they have {gradients.Width}.", nameof(gradients));
        }

        if (activations.Height != gradients.Height)
        {
            throw new ArgumentException($"Activations ({activations.Height} rows) and gradients ({gradients.Height} rows) must have the same batch size.", nameof(gradients));
        }

        if (!FactorMath.AllFinite(activations))
        {
            throw new ArgumentException("The activations contain NaN or infinity.", nameof(activations));
        }

        if (!FactorMath.AllFinite(gradients))
        {
            throw new ArgumentException("The gradients contain NaN or infinity.", nameof(gradients));
        }
    }

    internal sealed class SavedState
    {
        public required KfacPreconditionerOptions Options { get; init; }

        public long UpdateCount { get; init; }

        public long UpdatesSinceInverse { get; init; }

        public required T[] InputFactor { get; init; }

        public required T[] GradientFactor { get; init; }

        public DampingMode InverseMode { get; set; }

        public double InverseDamping { get; set; }

        public FactorDamping InverseDampings { get; set; }

        public T[]? InverseLeft { get; set; }

        public T[]? InverseRight { get; set; }

        public T[]? InverseLeftValues { get; set; }

        public T[]? InverseRightValues { get; set; }
    }
}
