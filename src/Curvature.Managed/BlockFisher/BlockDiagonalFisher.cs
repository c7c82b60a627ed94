using System.Numerics;
using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Serialization;
using Curvature.Internals;

namespace Curvature.BlockFisher;

/// <summary>
/// A block-diagonal empirical Fisher for a parameter without layer structure: the flattened parameter is cut into
/// consecutive blocks of <see cref="BlockFisherOptions.BlockSize"/> coordinates; each block keeps an exponential
/// moving average of <c>g_B g_Bᵀ</c> (per-example gradients when given, else the step's gradient), damped by
/// <c>λ·I</c> and factored by Cholesky; <see cref="Apply"/> returns <c>(F_B + λI)⁻¹ v_B</c> block by block.
/// </summary>
/// <remarks>
/// <para>Remainder rule: at most <see cref="BlockFisherOptions.MaxBlocks"/> dense blocks are kept (the last one may be
/// shorter than the block size); coordinates beyond them use a diagonal Fisher <c>EMA(g²)</c>, i.e.
/// <c>v_i / (d_i + λ)</c>. Nothing is random: every estimate comes from the gradients passed in.</para>
/// <para>Routines: BLAS <c>?SYRK</c> for the outer products, LAPACK <c>?POTRF</c> for the factor and
/// <c>?POTRS</c> semantics (<see cref="CurvatureBackend.CholeskySolve{T}"/>) to apply it. An update is computed into
/// staging buffers and committed only when every block factored, so a failed update leaves the state unchanged.
/// Steady-state updates and applies allocate nothing. An instance is not thread-safe: a call from a second thread while
/// another is in progress throws <see cref="InvalidOperationException"/>. Gradients so large that <c>g gᵀ</c> could
/// overflow are rejected before anything is computed, the same way on every backend.</para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class BlockDiagonalFisher<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const string CheckpointKind = "Curvature.BlockDiagonalFisher";
    private readonly CurvatureBackend _backend;
    private readonly int[] _blockStart;
    private readonly int[] _blockLength;
    private readonly int _remainderStart;
    private T[][] _fisher;     // lower triangle of each block's EMA, row-major b × b
    private T[][] _factor;     // Cholesky factor (lower) of F + λI
    private T[] _diagonal;     // remainder diagonal EMA
    private T[][] _stagedFisher;
    private T[][] _stagedFactor;
    private T[] _stagedDiagonal;
    private readonly T[] _solveScratch;
    private readonly SingleCallerGuard _guard = new();

    /// <summary>Creates the Fisher of a parameter of <paramref name="length"/> coordinates; before the first update F = 0.</summary>
    /// <exception cref="ArgumentNullException">A reference argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The length or an option is out of range.</exception>
    public BlockDiagonalFisher(CurvatureBackend backend, int length, BlockFisherOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        options.Validate();
        _backend = backend;
        Length = length;
        Options = options;
        int wanted = (int)Math.Min(((long)length + options.BlockSize - 1) / options.BlockSize, options.MaxBlocks);
        _blockStart = new int[wanted];
        _blockLength = new int[wanted];
        _fisher = new T[wanted][];
        _factor = new T[wanted][];
        _stagedFisher = new T[wanted][];
        _stagedFactor = new T[wanted][];
        int maxBlock = 0;
        for (int k = 0; k < wanted; k++)
        {
            int start = k * options.BlockSize;
            int len = Math.Min(options.BlockSize, length - start);
            _blockStart[k] = start;
            _blockLength[k] = len;
            _fisher[k] = new T[len * len];
            _factor[k] = new T[len * len];
            _stagedFisher[k] = new T[len * len];
            _stagedFactor[k] = new T[len * len];
            maxBlock = Math.Max(maxBlock, len);
        }

        _remainderStart = wanted == 0 ? 0 : _blockStart[wanted - 1] + _blockLength[wanted - 1];
        _diagonal = new T[length - _remainderStart];
        _stagedDiagonal = new T[length - _remainderStart];
        _solveScratch = new T[maxBlock];
        FactorAll(_fisher, _factor); // F = 0: the factor of λI
    }

    /// <summary>Number of coordinates.</summary>
    public int Length { get; }

    /// <summary>The options the instance was created with.</summary>
    public BlockFisherOptions Options { get; }

    /// <summary>Number of dense blocks.</summary>
    public int BlockCount => _blockStart.Length;

    /// <summary>Number of coordinates covered by the diagonal remainder.</summary>
    public int DiagonalCount => _diagonal.Length;

    /// <summary>Number of successful updates.</summary>
    public long UpdateCount { get; private set; }

    /// <summary>Bytes held by the Fisher state (EMAs, factors, staging buffers, scratch).</summary>
    public long MemoryBytes
    {
        get
        {
            long elements = 0;
            for (int k = 0; k < _fisher.Length; k++)
            {
                elements += 4L * _fisher[k].Length;
            }

            elements += 2L * _diagonal.Length + _solveScratch.Length;
            return elements * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        }
    }

    /// <summary>Start and length of dense block <paramref name="index"/>.</summary>
    public (int Start, int Length) GetBlockRange(int index) => (_blockStart[index], _blockLength[index]);

    /// <summary>Copies dense block <paramref name="index"/>'s Fisher EMA (without damping) as a full symmetric matrix.</summary>
    public void CopyBlockFisher(int index, Span<T> destination)
    {
        using var busy = _guard.Enter(this);
        int b = _blockLength[index];
        if (destination.Length != b * b)
        {
            throw new ArgumentException($"The destination must hold {b * b} values.", nameof(destination));
        }

        var f = _fisher[index];
        for (int i = 0; i < b; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                destination[(i * b) + j] = f[(i * b) + j];
                destination[(j * b) + i] = f[(i * b) + j];
            }
        }
    }

    /// <summary>Copies the remainder's diagonal Fisher EMA.</summary>
    public void CopyDiagonal(Span<T> destination)
    {
        using var busy = _guard.Enter(this);
        _diagonal.AsSpan().CopyTo(destination);
    }

    /// <summary>Updates every block with the outer product of one gradient: <c>F̂ = g gᵀ</c>.</summary>
    /// <exception cref="ArgumentException">Wrong length, a non-finite entry, or entries so large that the Fisher estimate
    /// overflows (state unchanged).</exception>
    /// <param name="gradient">The gradient, <see cref="Length"/> entries.</param>
    /// <param name="cancellationToken">Checked before each block's kernel calls; a cancelled update changes nothing.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped block failed to factor (state unchanged).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (state unchanged).</exception>
    public void Update(ReadOnlySpan<T> gradient, CancellationToken cancellationToken = default)
    {
        using var busy = _guard.Enter(this);
        if (gradient.Length != Length)
        {
            throw new ArgumentException($"The gradient must have {Length} entries, but it has {gradient.Length}.", nameof(gradient));
        }

        EnsureFinite(gradient, nameof(gradient));
        Update(ReadOnlySpan2D<T>.DangerousCreate(in MemoryMarshal.GetReference(gradient), 1, Length, 0), 1, nameof(gradient), cancellationToken);
    }

    /// <summary>Updates every block with per-example gradients (one row per example): <c>F̂ = (1/N) Σ_n g_n g_nᵀ</c>.</summary>
    /// <param name="perExampleGradients">N × <see cref="Length"/>, row-major, any pitch.</param>
    /// <exception cref="ArgumentException">Wrong width, no rows, a non-finite entry, or entries so large that the Fisher
    /// estimate overflows (state unchanged).</exception>
    /// <param name="cancellationToken">Checked before each block's kernel calls; a cancelled update changes nothing.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">A damped block failed to factor (state unchanged).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (state unchanged).</exception>
    public void UpdatePerExample(ReadOnlySpan2D<T> perExampleGradients, CancellationToken cancellationToken = default)
    {
        using var busy = _guard.Enter(this);
        if (perExampleGradients.Width != Length || perExampleGradients.Height < 1)
        {
            throw new ArgumentException($"Per-example gradients must be N × {Length} with N ≥ 1, but they are {perExampleGradients.Height} × {perExampleGradients.Width}.", nameof(perExampleGradients));
        }

        for (int r = 0; r < perExampleGradients.Height; r++)
        {
            EnsureFinite(perExampleGradients.GetRowSpan(r), nameof(perExampleGradients));
        }

        Update(perExampleGradients, perExampleGradients.Height, nameof(perExampleGradients), cancellationToken);
    }

    /// <summary>Writes <c>(F + λI)⁻¹ v</c> to <paramref name="destination"/> (may be the same memory as <paramref name="vector"/>).</summary>
    /// <exception cref="ArgumentException">A length differs from <see cref="Length"/>, the vector holds NaN or infinity, or the
    /// result overflows (the destination's content is then unspecified).</exception>
    public void Apply(ReadOnlySpan<T> vector, Span<T> destination)
    {
        using var busy = _guard.Enter(this);
        if (vector.Length != Length || destination.Length != Length)
        {
            throw new ArgumentException($"Vector and destination must have {Length} entries.");
        }

        EnsureFinite(vector, nameof(vector));
        ApplyCore(vector, destination);
        for (int i = 0; i < destination.Length; i++)
        {
            if (!T.IsFinite(destination[i]))
            {
                throw new ArgumentException($"The vector is too large: (F + λI)⁻¹v overflows at entry {i}.", nameof(vector));
            }
        }
    }

    private void ApplyCore(ReadOnlySpan<T> vector, Span<T> destination)
    {

        for (int k = 0; k < _blockStart.Length; k++)
        {
            int s = _blockStart[k], b = _blockLength[k];
            var rhs = _solveScratch.AsSpan(0, b);
            vector.Slice(s, b).CopyTo(rhs);
            _backend.CholeskySolve(new ReadOnlySpan2D<T>(_factor[k], b, b), Triangle.Lower, new Span2D<T>(_solveScratch, 0, b, 1, 0));
            rhs.CopyTo(destination.Slice(s, b));
        }

        T damping = T.CreateChecked(Options.Damping);
        for (int i = 0; i < _diagonal.Length; i++)
        {
            destination[_remainderStart + i] = vector[_remainderStart + i] / (_diagonal[i] + damping);
        }
    }

    /// <summary>Writes the state (EMAs and update count) to a checkpoint.</summary>
    public void Save(Stream destination)
    {
        using var busy = _guard.Enter(this);
        var w = new CheckpointWriter(destination, CheckpointKind, 1);
        WriteTo(w, "");
        w.Complete();
    }

    /// <summary>Restores a state written by <see cref="Save"/>; a mismatched or corrupted checkpoint changes nothing.</summary>
    /// <exception cref="CheckpointFormatException">The checkpoint is corrupted or belongs to another configuration.</exception>
    public void Load(Stream source)
    {
        using var busy = _guard.Enter(this);
        var r = CheckpointReader.Open(source, CheckpointKind, 1);
        var pending = ReadFrom(r, "");
        r.EnsureAtEnd();
        Commit(pending);
    }

    internal void WriteTo(CheckpointWriter w, string prefix)
    {
        using var busy = _guard.Enter(this);
        w.WriteInt32(prefix + "length", Length);
        w.WriteInt32(prefix + "blockSize", Options.BlockSize);
        w.WriteInt32(prefix + "blocks", BlockCount);
        w.WriteInt64(prefix + "updates", UpdateCount);
        for (int k = 0; k < _fisher.Length; k++)
        {
            w.WriteValues<T>(prefix + "block", _fisher[k]);
        }

        w.WriteValues<T>(prefix + "diagonal", _diagonal);
    }

    /// <summary>Reads a state into temporaries and checks it; commit with <see cref="Commit"/>.</summary>
    internal PendingState ReadFrom(CheckpointReader r, string prefix)
    {
        using var busy = _guard.Enter(this);
        int length = r.ReadInt32(prefix + "length");
        int blockSize = r.ReadInt32(prefix + "blockSize");
        int blocks = r.ReadInt32(prefix + "blocks");
        if (length != Length || blockSize != Options.BlockSize || blocks != BlockCount)
        {
            throw new CheckpointFormatException($"The checkpoint holds a block Fisher of {length} coordinates in {blocks} blocks of {blockSize}; this one has {Length} in {BlockCount} blocks of {Options.BlockSize}.");
        }

        long updates = r.ReadInt64(prefix + "updates");
        if (updates < 0)
        {
            throw new CheckpointFormatException("Negative update count in the checkpoint.");
        }

        var fisher = new T[BlockCount][];
        var factor = new T[BlockCount][];
        for (int k = 0; k < BlockCount; k++)
        {
            fisher[k] = r.ReadValues<T>(prefix + "block", _fisher[k].Length);
            EnsureFiniteState(fisher[k]);
            factor[k] = new T[fisher[k].Length];
        }

        var diagonal = r.ReadValues<T>(prefix + "diagonal", _diagonal.Length);
        EnsureFiniteState(diagonal);
        for (int i = 0; i < diagonal.Length; i++)
        {
            if (diagonal[i] < T.Zero)
            {
                throw new CheckpointFormatException("Negative diagonal Fisher entry in the checkpoint.");
            }
        }

        if (!FactorAllTry(fisher, factor))
        {
            throw new CheckpointFormatException("A Fisher block in the checkpoint is not positive semi-definite.");
        }

        return new PendingState(fisher, factor, diagonal, updates);
    }

    internal void Commit(PendingState pending)
    {
        using var busy = _guard.Enter(this);
        _fisher = pending.Fisher;
        _factor = pending.Factor;
        _diagonal = pending.Diagonal;
        UpdateCount = pending.Updates;
    }

    /// <summary>Stages an update (no state change); <see cref="CommitStaged"/> makes it current.</summary>
    internal void StageUpdate(ReadOnlySpan<T> gradient)
    {
        using var busy = _guard.Enter(this);
        Stage(ReadOnlySpan2D<T>.DangerousCreate(in MemoryMarshal.GetReference(gradient), 1, Length, 0), 1, nameof(gradient));
    }

    /// <summary>Stages a per-example update (no state change); <see cref="CommitStaged"/> makes it current.</summary>
    internal void StagePerExample(ReadOnlySpan2D<T> perExampleGradients)
    {
        using var busy = _guard.Enter(this);
        if (perExampleGradients.Width != Length || perExampleGradients.Height < 1)
        {
            throw new ArgumentException($"Per-example gradients must be N × {Length} with N ≥ 1, but they are {perExampleGradients.Height} × {perExampleGradients.Width}.", nameof(perExampleGradients));
        }

        for (int r = 0; r < perExampleGradients.Height; r++)
        {
            EnsureFinite(perExampleGradients.GetRowSpan(r), nameof(perExampleGradients));
        }

        Stage(perExampleGradients, perExampleGradients.Height, nameof(perExampleGradients));
    }

    /// <summary>Forgets every estimate (F = 0, no updates).</summary>
    public void Clear()
    {
        using var busy = _guard.Enter(this);
        foreach (var f in _fisher)
        {
            Array.Clear(f);
        }

        Array.Clear(_diagonal);
        FactorAll(_fisher, _factor);
        UpdateCount = 0;
    }

    internal void CommitStaged()
    {
        using var busy = _guard.Enter(this);
        (_fisher, _stagedFisher) = (_stagedFisher, _fisher);
        (_factor, _stagedFactor) = (_stagedFactor, _factor);
        (_diagonal, _stagedDiagonal) = (_stagedDiagonal, _diagonal);
        UpdateCount++;
    }

    private void Update(ReadOnlySpan2D<T> rows, int n, string paramName, CancellationToken cancellationToken)
    {
        Stage(rows, n, paramName, cancellationToken);
        CommitStaged();
    }

    private void Stage(ReadOnlySpan2D<T> rows, int n, string paramName, CancellationToken cancellationToken = default)
    {
        // Whether g·gᵀ overflows must not depend on a backend's order of operations (α·Σ gg or Σ (αg)g): updates whose
        // squared entries, summed over the rows, could exceed a quarter of the largest value are rejected up front, the
        // same way on every backend. Below that bound no ordering overflows.
        double largest = 0;
        for (int r = 0; r < rows.Height; r++)
        {
            foreach (T v in rows.GetRowSpan(r))
            {
                largest = Math.Max(largest, Math.Abs(double.CreateTruncating(v)));
            }
        }

        if (largest * largest * n > (typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue) / 4)
        {
            throw new ArgumentException(
                $"The gradients are too large (largest magnitude {largest:g3}): their Fisher estimate could overflow. The update was discarded.", paramName);
        }

        bool first = UpdateCount == 0;
        T gamma = first ? T.Zero : T.CreateChecked(Options.Decay);
        T weight = (T.One - gamma) / T.CreateChecked(n);
        for (int k = 0; k < _blockStart.Length; k++)
        {
            int s = _blockStart[k], b = _blockLength[k];
            var staged = _stagedFisher[k];
            cancellationToken.ThrowIfCancellationRequested();
            _fisher[k].AsSpan().CopyTo(staged);
            _backend.SymmetricRankKUpdate(rows.Slice(0, s, rows.Height, b), RankKForm.TransposeTimesMatrix, new Span2D<T>(staged, b, b), Triangle.Lower, weight, gamma);
        }

        for (int i = 0; i < _diagonal.Length; i++)
        {
            T acc = T.Zero;
            for (int r = 0; r < n; r++)
            {
                T g = rows[r, _remainderStart + i];
                acc += g * g;
            }

            _stagedDiagonal[i] = (gamma * _diagonal[i]) + (weight * acc);
        }

        // A safety net (a loaded state near the range limit plus a new estimate): nothing non-finite becomes the state.
        if (!StagedIsFinite())
        {
            throw new ArgumentException("The gradients are too large: the Fisher estimate they give overflows. The update was discarded.", paramName);
        }

        if (!FactorAllTry(_stagedFisher, _stagedFactor, cancellationToken))
        {
            throw new MatrixNotPositiveDefiniteException(new FactorizationStatus("potrf", 1), _solveScratch.Length, "A damped block-diagonal Fisher block is not positive definite; the update was discarded.");
        }
    }

    private bool StagedIsFinite()
    {
        foreach (var block in _stagedFisher)
        {
            foreach (T v in block)
            {
                if (!T.IsFinite(v))
                {
                    return false;
                }
            }
        }

        foreach (T v in _stagedDiagonal)
        {
            if (!T.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    private void FactorAll(T[][] fisher, T[][] factor)
    {
        if (!FactorAllTry(fisher, factor))
        {
            throw new MatrixNotPositiveDefiniteException(new FactorizationStatus("potrf", 1), _solveScratch.Length, "A damped block-diagonal Fisher block is not positive definite.");
        }
    }

    private bool FactorAllTry(T[][] fisher, T[][] factor, CancellationToken cancellationToken = default)
    {
        T damping = T.CreateChecked(Options.Damping);
        for (int k = 0; k < fisher.Length; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int b = _blockLength[k];
            var f = fisher[k];
            var l = factor[k];
            Array.Clear(l);
            for (int i = 0; i < b; i++)
            {
                for (int j = 0; j <= i; j++)
                {
                    l[(i * b) + j] = f[(i * b) + j];
                }

                l[(i * b) + i] += damping;
            }

            if (!_backend.TryCholeskyFactor(new Span2D<T>(l, b, b), Triangle.Lower).Succeeded)
            {
                return false;
            }
        }

        return true;
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

    private static void EnsureFiniteState(T[] values)
    {
        foreach (var v in values)
        {
            if (!T.IsFinite(v))
            {
                throw new CheckpointFormatException("Non-finite Fisher entry in the checkpoint.");
            }
        }
    }

    /// <summary>A state read from a checkpoint, checked and factored, not yet committed.</summary>
    internal sealed record PendingState(T[][] Fisher, T[][] Factor, T[] Diagonal, long Updates);
}
