using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Backends.Managed;
using Curvature.Parameters;
using Curvature.Serialization;
using Curvature.Internals;

namespace Curvature.BranchFactored;

/// <summary>
/// A branch-factored, K-FAC-like preconditioner: a low-cost second-order proxy that uses the covariance of sampled
/// state branches (for example hypercausal rollouts), factored into diagonal blocks and mapped to the parameters by a
/// random projection.
/// </summary>
/// <remarks>
/// <para>One step, with parameters θ (n elements, flattened by <see cref="ParameterLayout"/>) and gradient g:</para>
/// <list type="number">
/// <item>g comes from the <see cref="BranchGradientEstimator{T}"/> when one was given, otherwise from the context's named gradients.</item>
/// <item>Without a 2-D branch matrix the direction is g itself. Otherwise, for <c>K × D</c> branch samples B:
/// <c>C = cov(B) + damp·I</c> (<see cref="EmpiricalCovariance"/>); the D state dimensions are split into
/// <see cref="BlockPartition"/> blocks; <c>P</c> (<c>n × D</c>, entries N(0,1)/√D from <see cref="SeededGaussian"/>)
/// maps parameters to states; <c>v_b = C_bb⁻¹ (Pᵀg)_b</c> per block; the direction is <c>P v</c>.</item>
/// <item><c>θ ← θ − lr·direction</c>, then, when <see cref="BranchFactoredOptions.Clip"/> is set, θ is clipped to
/// <c>[−clip, clip]</c>.</item>
/// </list>
/// <para>Kernels: BLAS <c>?SYRK</c> for the covariance, <c>?GEMM</c> for <c>Pᵀg</c> and <c>P v</c>, LAPACK <c>?POTRF</c> +
/// <c>?POTRS</c> (Cholesky factor and solve) per block; in float32, a block whose Cholesky fails is rebuilt and
/// factorised in float64 before giving up (as curvlinops retries in float64). The blocks are all factorised before anything else changes, so a
/// block that is not positive definite throws <see cref="MatrixNotPositiveDefiniteException"/> (naming the block) and leaves
/// the parameters, the step count and the generator untouched. Workspaces are kept and reused: for fixed sizes a step
/// allocates nothing after the first.</para>
/// <para>The projection comes from <see cref="SeededGaussian"/>: steps are reproducible for a given
/// <see cref="BranchFactoredOptions.Seed"/> on every machine, but differ from a NumPy implementation's numbers.
/// Not thread-safe: a call from a second thread while another is in progress throws
/// <see cref="InvalidOperationException"/>.</para>
/// </remarks>
/// <typeparam name="T">The element type of the flat vectors and the computation: <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class BranchFactoredPreconditioner<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SeededGaussian _rng;
    private readonly T _learningRate;
    private readonly T _damping;
    private readonly SingleCallerGuard _guard = new();

    private long _steps;
    private double _pendingNorm;
    private int _parameterCount = -1; // from the last Initialize, successful step or load; -1 before any
    private double? _lastNorm;
    private bool _lastUsedBranches;

    // Flat vectors (n).
    private T[] _theta = [];
    private T[] _gradient = [];
    private T[] _direction = [];
    private T[] _updated = [];

    // Branch workspaces.
    private T[] _projection = [];
    private T[] _projectionBackup = [];
    private int _projectionRows, _projectionCols;
    private bool _projectionReady;
    private bool _hasLastProjection;
    private T[] _centered = [];
    private T[] _covariance = [];
    private T[] _stateVector = [];

    // float32 → float64 retry of blocks whose float Cholesky fails (allocated on the first retry).
    private double[] _doubleFactor = [];
    private double[] _doubleVector = [];
    private bool[] _blockInDouble = [];
    private bool _anyBlockInDouble;

    /// <summary>Creates the preconditioner.</summary>
    /// <param name="options">Settings (<see cref="BranchFactoredOptions"/>'s defaults when null).</param>
    /// <param name="gradientEstimator">Optional gradient source; when null, each step needs the context's named gradients.</param>
    /// <param name="backend">The BLAS/LAPACK backend (the shared <see cref="ManagedBackend"/> when null).</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public BranchFactoredPreconditioner(BranchFactoredOptions? options = null, BranchGradientEstimator<T>? gradientEstimator = null, CurvatureBackend? backend = null)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"The preconditioner computes in float or double, not {typeof(T).Name}.");
        }

        Options = options ?? new BranchFactoredOptions();
        Options.Validate();
        GradientEstimator = gradientEstimator;
        Backend = backend ?? ManagedBackend.Shared;
        _rng = new SeededGaussian(Options.Seed);
        _learningRate = T.CreateTruncating(Options.LearningRate);
        _damping = T.CreateTruncating(Options.Damping);
    }

    /// <summary>The settings.</summary>
    public BranchFactoredOptions Options { get; }

    /// <summary>The gradient source, or null when the context's named gradients are used.</summary>
    public BranchGradientEstimator<T>? GradientEstimator { get; }

    /// <summary>The backend running the kernels.</summary>
    public CurvatureBackend Backend { get; }

    /// <summary>The state after the last step (or initialisation).</summary>
    public BranchFactoredState State => new(_steps, _lastNorm, _lastUsedBranches);

    /// <summary>The projection <c>P</c> (<c>n × D</c>) used by the last step that used branch samples; empty before such a step.
    /// A rejected step leaves it as it was, unless the step changed the parameter count or the state dimension (then it is empty).</summary>
    public ReadOnlySpan2D<T> LastProjection =>
        _hasLastProjection ? new ReadOnlySpan2D<T>(_projection, 0, _projectionRows, _projectionCols, 0) : default;

    /// <summary>Resets the step count and prepares the workspaces for <paramref name="parameters"/>.
    /// The generator and a fixed projection are kept.</summary>
    /// <returns>The state: zero steps, no norm yet.</returns>
    public BranchFactoredState Initialize(ParameterSet parameters)
    {
        using var busy = _guard.Enter(this);
        ArgumentNullException.ThrowIfNull(parameters);
        EnsureVectors(parameters.Layout.TotalLength);
        _parameterCount = parameters.Layout.TotalLength;
        _steps = 0;
        _lastNorm = null;
        _lastUsedBranches = false;
        return State;
    }

    /// <summary>One step that updates <paramref name="parameters"/> in place.</summary>
    /// <returns>The new state.</returns>
    /// <exception cref="ArgumentException">No gradient source (neither an estimator nor the context's gradients), a gradient size that does
    /// not match its parameter, a missing gradient, NaN/infinite parameters, gradients or branch samples, no branch samples (K = 0), a
    /// fixed projection whose size no longer matches, branch samples so large that their covariance could overflow, or a step whose
    /// direction or updated parameters overflow. Nothing changes.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A block of the damped covariance is not positive definite (the message names the block).</exception>
    public BranchFactoredState Step(ParameterSet parameters, BranchStepContext<T> context) => Step(parameters, context, parameters);

    /// <summary>One step that writes the updated parameters into <paramref name="destination"/> (same names and sizes as
    /// <paramref name="parameters"/>; may be the same set), leaving <paramref name="parameters"/> unchanged unless it is the destination.</summary>
    /// <returns>The new state.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Step(ParameterSet, BranchStepContext{T})"/>, or a destination with another layout.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A block of the damped covariance is not positive definite.</exception>
    public BranchFactoredState Step(ParameterSet parameters, BranchStepContext<T> context, ParameterSet destination)
    {
        using var busy = _guard.Enter(this);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(destination);
        var layout = parameters.Layout;
        if (!ReferenceEquals(destination, parameters) && !layout.Matches(destination))
        {
            throw new ArgumentException("The destination must hold the same parameter names with the same sizes as the parameters.", nameof(destination));
        }

        int n = layout.TotalLength;
        EnsureVectors(n);
        Span<T> theta = _theta;
        Span<T> gradient = _gradient;
        layout.Flatten(parameters, theta);
        EnsureFinite(theta, nameof(parameters), "parameter");

        if (GradientEstimator is not null)
        {
            gradient.Clear();
            GradientEstimator(parameters, context, gradient);
        }
        else
        {
            if (context.Gradients is null || context.Gradients.Count == 0)
            {
                throw new ArgumentException("The branch-factored preconditioner expects either a gradient estimator or the context's gradients.", nameof(context));
            }

            layout.GatherGradients(context.Gradients, gradient);
        }

        EnsureFinite(gradient, nameof(context), "gradient");
        ReadOnlySpan2D<T> branches = context.HasBranchMatrix ? context.Branches.Span : default;
        Compute(theta, gradient, branches, context.HasBranchMatrix);
        layout.Deflatten<T>(_updated, destination);
        return Commit();
    }

    /// <summary>One step on flat vectors with branch samples: <paramref name="destination"/> ← θ − lr·P v (then clipped).</summary>
    /// <param name="parameters">θ (n elements).</param>
    /// <param name="gradient">g (n elements).</param>
    /// <param name="branches">Branch samples, <c>K × D</c> with K ≥ 1.</param>
    /// <param name="destination">The updated parameters (n elements; may be <paramref name="parameters"/> itself).</param>
    /// <returns>The new state.</returns>
    /// <exception cref="ArgumentException">Mismatched lengths, NaN/infinite input, K = 0, or a fixed projection of another size.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">A block of the damped covariance is not positive definite.</exception>
    public BranchFactoredState Step(ReadOnlySpan<T> parameters, ReadOnlySpan<T> gradient, ReadOnlySpan2D<T> branches, Span<T> destination) =>
        StepFlat(parameters, gradient, branches, true, destination);

    /// <summary>One step on flat vectors without branch samples (the plain-gradient fallback): <paramref name="destination"/> ← θ − lr·g (then clipped).</summary>
    /// <exception cref="ArgumentException">Mismatched lengths or NaN/infinite input.</exception>
    public BranchFactoredState Step(ReadOnlySpan<T> parameters, ReadOnlySpan<T> gradient, Span<T> destination) =>
        StepFlat(parameters, gradient, default, false, destination);

    private BranchFactoredState StepFlat(ReadOnlySpan<T> parameters, ReadOnlySpan<T> gradient, ReadOnlySpan2D<T> branches, bool hasBranches, Span<T> destination)
    {
        using var busy = _guard.Enter(this);
        int n = parameters.Length;
        if (gradient.Length != n)
        {
            throw new ArgumentException($"The gradient has {gradient.Length} elements, but there are {n} parameters.", nameof(gradient));
        }

        if (destination.Length != n)
        {
            throw new ArgumentException($"The destination has {destination.Length} elements, but there are {n} parameters.", nameof(destination));
        }

        EnsureFinite(parameters, nameof(parameters), "parameter");
        EnsureFinite(gradient, nameof(gradient), "gradient");
        EnsureVectors(n);
        Compute(parameters, gradient, branches, hasBranches);
        _updated.AsSpan().CopyTo(destination);
        return Commit();
    }

    /// <summary>Computes the direction and the updated parameters into the workspaces; changes no state unless it succeeds
    /// (then only the generator and the projection).</summary>
    private void Compute(ReadOnlySpan<T> theta, ReadOnlySpan<T> gradient, ReadOnlySpan2D<T> branches, bool hasBranches)
    {
        // A step rejected late (its direction overflows) must leave the generator and the projection as they were:
        // remember them, and the projection's values when this step may draw a new one in place.
        var rngBefore = _rng.State;
        T[] projectionBefore = _projection;
        int rowsBefore = _projectionRows, colsBefore = _projectionCols;
        bool readyBefore = _projectionReady, hasLastBefore = _hasLastProjection;
        int kept = hasBranches && hasLastBefore && (Options.Projection != ProjectionMode.Fixed || !readyBefore) ? rowsBefore * colsBefore : 0;
        if (kept > 0)
        {
            if (_projectionBackup.Length < kept)
            {
                _projectionBackup = new T[kept];
            }

            projectionBefore.AsSpan(0, kept).CopyTo(_projectionBackup);
        }

        try
        {
            ComputeCore(theta, gradient, branches, hasBranches);
        }
        catch
        {
            _rng.State = rngBefore;
            _projection = projectionBefore;
            if (kept > 0)
            {
                _projectionBackup.AsSpan(0, kept).CopyTo(projectionBefore);
            }

            (_projectionRows, _projectionCols, _projectionReady, _hasLastProjection) = (rowsBefore, colsBefore, readyBefore, hasLastBefore);
            throw;
        }

        _lastUsedBranches = hasBranches;
    }

    private void ComputeCore(ReadOnlySpan<T> theta, ReadOnlySpan<T> gradient, ReadOnlySpan2D<T> branches, bool hasBranches)
    {
        Span<T> direction = _direction;
        if (hasBranches)
        {
            Precondition(gradient, branches, direction);
        }
        else
        {
            gradient.CopyTo(direction);
        }

        Span<T> updated = _updated;
        T lr = _learningRate;
        for (int i = 0; i < updated.Length; i++)
        {
            updated[i] = theta[i] - lr * direction[i];
        }

        if (Options.Clip is double clip)
        {
            T hi = T.CreateTruncating(clip), lo = -hi;
            for (int i = 0; i < updated.Length; i++)
            {
                // np.clip semantics: min(max(x, lo), hi).
                updated[i] = T.Min(T.Max(updated[i], lo), hi);
            }
        }

        // Finite input can still overflow (huge gradients, a tiny damping): such a step is rejected, not committed.
        _pendingNorm = ScaledNorm(direction);
        if (!double.IsFinite(_pendingNorm) || !AllFinite(updated))
        {
            throw new ArgumentException(
                "The step overflows: the preconditioned direction or the updated parameters are not finite (the gradients are too large for this damping).",
                "gradient");
        }
    }

    private BranchFactoredState Commit()
    {
        _lastNorm = _pendingNorm;
        _parameterCount = _updated.Length;
        _steps++;
        return State;
    }

    /// <summary>‖v‖₂; when the plain sum of squares overflows or underflows, recomputed scaled by the largest magnitude, so
    /// that it is finite whenever it is representable.</summary>
    private static double ScaledNorm(ReadOnlySpan<T> v)
    {
        double plain = 0;
        foreach (T x in v)
        {
            double d = double.CreateTruncating(x);
            plain += d * d;
        }

        plain = Math.Sqrt(plain);
        if (double.IsFinite(plain) && plain > 0)
        {
            return plain;
        }

        double largest = 0;
        foreach (T x in v)
        {
            largest = Math.Max(largest, Math.Abs(double.CreateTruncating(x)));
        }

        if (largest == 0 || !double.IsFinite(largest))
        {
            return largest;
        }

        double sum = 0;
        foreach (T x in v)
        {
            double scaled = double.CreateTruncating(x) / largest;
            sum += scaled * scaled;
        }

        return largest * Math.Sqrt(sum);
    }

    private static bool AllFinite(ReadOnlySpan<T> values)
    {
        foreach (T v in values)
        {
            if (!T.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    private void Precondition(ReadOnlySpan<T> gradient, ReadOnlySpan2D<T> branches, Span<T> direction)
    {
        int n = gradient.Length;
        int k = branches.Height, d = branches.Width;
        if (k == 0)
        {
            throw new ArgumentException("The branch matrix has no samples (K = 0); it needs at least one row.", nameof(branches));
        }

        EmpiricalCovariance.Validate(branches, nameof(branches));
        EnsureCovarianceCannotOverflow(branches);
        bool fixedMode = Options.Projection == ProjectionMode.Fixed;
        if (fixedMode && _projectionReady && (_projectionRows != n || _projectionCols != d))
        {
            throw new ArgumentException(
                $"The fixed projection is {_projectionRows} × {_projectionCols}, but this step has {n} parameters and {d} state dimensions; create a new preconditioner for other sizes.",
                nameof(branches));
        }

        if (d == 0)
        {
            // No state dimensions: P is n × 0 and P v is zero, as in the seed.
            direction.Clear();
            return;
        }

        EnsureBranchWorkspaces(n, k, d, fixedMode);
        var covariance = new Span2D<T>(_covariance, 0, d, d, 0);
        EmpiricalCovariance.ComputeLower(Backend, branches, new Span2D<T>(_centered, 0, k, d, 0), covariance);
        for (int i = 0; i < d; i++)
        {
            covariance[i, i] += _damping;
        }

        // Factorise every block first: a failure leaves the generator and the projection untouched.
        int blocks = BlockPartition.EffectiveCount(d, Options.Blocks);
        _anyBlockInDouble = false;
        for (int b = 0; b < blocks; b++)
        {
            int start = BlockPartition.StartOf(d, blocks, b), size = BlockPartition.SizeOf(d, blocks, b);
            var block = new Span2D<T>(_covariance, start * d + start, size, size, d - size);
            var status = Backend.TryCholeskyFactor(block, Triangle.Lower);
            if (!status.Succeeded && typeof(T) == typeof(float))
            {
                // A float32 Cholesky can fail where float64 succeeds (as curvlinops does, retry in float64).
                status = FactorBlockInDouble(b, start, size, branches);
            }

            if (!status.Succeeded)
            {
                throw new MatrixNotPositiveDefiniteException(
                    status,
                    size,
                    $"Block {b} of {blocks} (state dimensions {start}..{start + size - 1}) of the damped branch covariance");
            }
        }

        if (!fixedMode || !_projectionReady)
        {
            _rng.Fill(_projection.AsSpan(0, n * d), 1.0 / Math.Sqrt(d));
            _projectionRows = n;
            _projectionCols = d;
            _projectionReady = true;
        }

        _hasLastProjection = true;
        var projection = new ReadOnlySpan2D<T>(_projection, 0, n, d, 0);
        var stateVector = new Span2D<T>(_stateVector, 0, d, 1, 0);

        // g_state = Pᵀ g.
        Backend.MatrixMultiply(projection, Transpose.Transpose, AsColumn(gradient), Transpose.None, stateVector, T.One, T.Zero);

        // v_b = C_bb⁻¹ g_state_b, block by block.
        for (int b = 0; b < blocks; b++)
        {
            int start = BlockPartition.StartOf(d, blocks, b), size = BlockPartition.SizeOf(d, blocks, b);
            if (_anyBlockInDouble && _blockInDouble[b])
            {
                SolveBlockInDouble(start, size, d);
                continue;
            }

            var factor = new ReadOnlySpan2D<T>(_covariance, start * d + start, size, size, d - size);
            Backend.CholeskySolve(factor, Triangle.Lower, new Span2D<T>(_stateVector, start, size, 1, 0));
        }

        // direction = P v.
        Backend.MatrixMultiply(projection, Transpose.None, (ReadOnlySpan2D<T>)stateVector, Transpose.None, AsColumn(direction), T.One, T.Zero);
    }

    /// <summary>The checkpoint kind written by <see cref="Save"/>.</summary>
    public const string CheckpointKind = "Curvature.BranchFactored";

    private const int CheckpointSchema = 1;

    /// <summary>Saves the state — step count, last norm, the generator's state and, in <see cref="ProjectionMode.Fixed"/> mode, the
    /// projection — in Curvature's checksummed checkpoint format. The options are not saved: they come from the constructor.</summary>
    public void Save(Stream destination)
    {
        using var busy = _guard.Enter(this);
        var w = new CheckpointWriter(destination, CheckpointKind, CheckpointSchema);
        w.WriteString("elementType", typeof(T).Name);
        w.WriteInt32("projectionMode", (int)Options.Projection);
        w.WriteInt64("steps", _steps);
        w.WriteBoolean("hasNorm", _lastNorm.HasValue);
        w.WriteDouble("norm", _lastNorm ?? 0.0);
        w.WriteBoolean("usedBranches", _lastUsedBranches);
        var rng = _rng.State;
        w.WriteInt64("rng.s0", unchecked((long)rng.S0));
        w.WriteInt64("rng.s1", unchecked((long)rng.S1));
        w.WriteInt64("rng.s2", unchecked((long)rng.S2));
        w.WriteInt64("rng.s3", unchecked((long)rng.S3));
        w.WriteBoolean("rng.hasSpare", rng.HasSpare);
        w.WriteDouble("rng.spare", rng.HasSpare ? rng.Spare : 0.0); // a stale spare is not state: Save→Load→Save stays byte-identical
        bool saveProjection = Options.Projection == ProjectionMode.Fixed && _projectionReady;
        w.WriteBoolean("projection.ready", saveProjection);
        w.WriteInt32("projection.rows", saveProjection ? _projectionRows : 0);
        w.WriteInt32("projection.cols", saveProjection ? _projectionCols : 0);
        w.WriteValues<T>("projection.values", saveProjection ? _projection.AsSpan(0, _projectionRows * _projectionCols) : ReadOnlySpan<T>.Empty);
        w.Complete();
    }

    /// <summary>Restores a state written by <see cref="Save"/>. Everything is read and validated first: a rejected checkpoint leaves this
    /// preconditioner unchanged.</summary>
    /// <exception cref="CheckpointFormatException">The checkpoint is truncated, corrupted, of another kind, element type or projection mode,
    /// inconsistent, or holds a fixed projection for another parameter count than the one this preconditioner was initialised,
    /// stepped or loaded with.</exception>
    public void Load(Stream source)
    {
        using var busy = _guard.Enter(this);
        var r = CheckpointReader.Open(source, CheckpointKind, CheckpointSchema);
        string elementType = r.ReadString("elementType");
        if (elementType != typeof(T).Name)
        {
            throw new CheckpointFormatException($"The checkpoint holds a {elementType} preconditioner, not {typeof(T).Name}.");
        }

        var mode = (ProjectionMode)r.ReadInt32("projectionMode");
        if (mode != Options.Projection)
        {
            throw new CheckpointFormatException($"The checkpoint was written in projection mode {mode}, this preconditioner uses {Options.Projection}.");
        }

        long steps = r.ReadInt64("steps");
        bool hasNorm = r.ReadBoolean("hasNorm");
        double norm = r.ReadDouble("norm");
        bool usedBranches = r.ReadBoolean("usedBranches");
        var rng = new SeededGaussianState(
            unchecked((ulong)r.ReadInt64("rng.s0")),
            unchecked((ulong)r.ReadInt64("rng.s1")),
            unchecked((ulong)r.ReadInt64("rng.s2")),
            unchecked((ulong)r.ReadInt64("rng.s3")),
            r.ReadBoolean("rng.hasSpare"),
            r.ReadDouble("rng.spare"));
        bool ready = r.ReadBoolean("projection.ready");
        int rows = r.ReadInt32("projection.rows");
        int cols = r.ReadInt32("projection.cols");
        if (rows < 0 || cols < 0 || (long)rows * cols > Array.MaxLength || (!ready && rows * cols != 0))
        {
            throw new CheckpointFormatException($"The checkpoint's projection shape {rows} × {cols} is invalid.");
        }

        if (ready && _parameterCount >= 0 && rows != _parameterCount)
        {
            throw new CheckpointFormatException(
                $"The checkpoint's fixed projection is for {rows} parameters, but this preconditioner works on {_parameterCount}.");
        }

        T[] projection = r.ReadValues<T>("projection.values", rows * cols);
        r.EnsureAtEnd();
        if (steps < 0 || (hasNorm && !(double.IsFinite(norm) && norm >= 0)))
        {
            throw new CheckpointFormatException("The checkpoint's step count or norm is invalid.");
        }

        if ((rng.S0 | rng.S1 | rng.S2 | rng.S3) == 0 || (rng.HasSpare && !double.IsFinite(rng.Spare)))
        {
            throw new CheckpointFormatException("The checkpoint's generator state is invalid.");
        }

        foreach (T v in projection)
        {
            if (!T.IsFinite(v))
            {
                throw new CheckpointFormatException("The checkpoint's projection holds a non-finite value.");
            }
        }

        // Commit.
        _rng.State = rng;
        _steps = steps;
        _lastNorm = hasNorm ? norm : null;
        _lastUsedBranches = usedBranches;
        if (ready)
        {
            _projection = projection;
            _projectionRows = rows;
            _projectionCols = cols;
            _projectionReady = true;
            _hasLastProjection = true;
            _parameterCount = rows;
        }
        else if (Options.Projection == ProjectionMode.Fixed)
        {
            _projectionReady = false;
            _hasLastProjection = false;
        }
    }

    /// <summary>Rebuilds block <paramref name="b"/> of the damped covariance in float64 from the samples (centred in float64)
    /// and factorises it there.</summary>
    private FactorizationStatus FactorBlockInDouble(int b, int start, int size, ReadOnlySpan2D<T> branches)
    {
        int k = branches.Height, d = branches.Width;
        if (_doubleFactor.Length != d * d)
        {
            _doubleFactor = new double[d * d];
            _doubleVector = new double[d];
            _blockInDouble = new bool[d];
        }

        if (!_anyBlockInDouble)
        {
            Array.Clear(_blockInDouble);
        }

        // Column means of the block, kept in the solve scratch (free until the solve).
        Span<double> mean = _doubleVector.AsSpan(start, size);
        mean.Clear();
        for (int r = 0; r < k; r++)
        {
            for (int i = 0; i < size; i++)
            {
                mean[i] += double.CreateTruncating(branches[r, start + i]);
            }
        }

        for (int i = 0; i < size; i++)
        {
            mean[i] /= k;
        }

        double scale = 1.0 / Math.Max(1, k - 1);
        var block = new Span2D<double>(_doubleFactor, start * d + start, size, size, d - size);
        for (int i = 0; i < size; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = 0;
                for (int r = 0; r < k; r++)
                {
                    sum += (double.CreateTruncating(branches[r, start + i]) - mean[i]) * (double.CreateTruncating(branches[r, start + j]) - mean[j]);
                }

                block[i, j] = sum * scale + (i == j ? Options.Damping : 0.0);
            }
        }

        var status = Backend.TryCholeskyFactor(block, Triangle.Lower);
        if (status.Succeeded)
        {
            _blockInDouble[b] = true;
            _anyBlockInDouble = true;
        }

        return status;
    }

    private void SolveBlockInDouble(int start, int size, int d)
    {
        Span<double> v = _doubleVector.AsSpan(start, size);
        for (int i = 0; i < size; i++)
        {
            v[i] = double.CreateTruncating(_stateVector[start + i]);
        }

        var factor = new ReadOnlySpan2D<double>(_doubleFactor, start * d + start, size, size, d - size);
        Backend.CholeskySolve(factor, Triangle.Lower, new Span2D<double>(_doubleVector, start, size, 1, 0));
        for (int i = 0; i < size; i++)
        {
            _stateVector[start + i] = T.CreateTruncating(v[i]);
        }
    }

    /// <summary>
    /// Whether the covariance of huge samples overflows must not depend on a backend's order of operations: samples whose
    /// centred squares, summed over the K rows, could exceed a quarter of the largest value are rejected up front, the same
    /// way on every backend (centred values are at most twice the largest magnitude).
    /// </summary>
    private static void EnsureCovarianceCannotOverflow(ReadOnlySpan2D<T> branches)
    {
        double largest = 0;
        for (int r = 0; r < branches.Height; r++)
        {
            foreach (T v in branches.GetRowSpan(r))
            {
                largest = Math.Max(largest, Math.Abs(double.CreateTruncating(v)));
            }
        }

        double limit = (typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue) / 4;
        if (4 * largest * largest * branches.Height > limit)
        {
            throw new ArgumentException(
                $"The branch samples are too large (largest magnitude {largest:g3}): their covariance could overflow.", nameof(branches));
        }
    }

    private static ReadOnlySpan2D<T> AsColumn(ReadOnlySpan<T> v) => ReadOnlySpan2D<T>.DangerousCreate(in v.GetPinnableReference(), v.Length, 1, 0);

    private static Span2D<T> AsColumn(Span<T> v) => Span2D<T>.DangerousCreate(ref v.GetPinnableReference(), v.Length, 1, 0);

    private void EnsureVectors(int n)
    {
        if (_theta.Length != n)
        {
            _theta = new T[n];
            _gradient = new T[n];
            _direction = new T[n];
            _updated = new T[n];
        }
    }

    private void EnsureBranchWorkspaces(int n, int k, int d, bool fixedMode)
    {
        if (_centered.Length != k * d)
        {
            _centered = new T[checked(k * d)];
        }

        if (_covariance.Length != d * d)
        {
            _covariance = new T[checked(d * d)];
            _stateVector = new T[d];
        }

        int pLength = checked(n * d);
        if (fixedMode ? !_projectionReady && _projection.Length != pLength : _projection.Length != pLength)
        {
            _projection = new T[pLength];
            _hasLastProjection = false;
        }
    }

    private static void EnsureFinite(ReadOnlySpan<T> values, string paramName, string what)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                throw new ArgumentException($"The {what} vector has {values[i]} at index {i}: values must be finite.", paramName);
            }
        }
    }
}
