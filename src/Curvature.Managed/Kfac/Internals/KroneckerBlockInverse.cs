using System.Diagnostics;
using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Diagnostics;
using Curvature.Diagnostics.Internals;
using Curvature.Internals;

namespace Curvature.Kfac.Internals;

/// <summary>
/// The damped inverse of one Kronecker block <c>G ⊗ A</c> (or of a single factor G for a bias-only block), cached:
/// inverted damped factors (plain, heuristic, trace-scaled damping; LAPACK <c>?POTRF</c> + <c>?POTRI</c>) or the
/// eigendecompositions of both factors (exact damping; LAPACK <c>?SYEVD</c>). Results are computed into back buffers and
/// swapped in only on success, so a failed recomputation leaves the previous inverse intact (<see cref="Prepare(CurvatureBackend, ReadOnlySpan{T}, ReadOnlySpan{T}, KfacInverseOptions, string, CancellationToken)"/> +
/// <see cref="Commit"/> let a caller swap several blocks together). After the first computation in a mode, recomputing and
/// applying allocate nothing. Refresh durations, failures and float64 retries are recorded in <see cref="CurvatureMetrics"/>.
/// </summary>
internal sealed class KroneckerBlockInverse<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _dOut;
    private readonly int _dIn;
    private Storage _front;
    private Storage _back;
    private AlignedBuffer<double>? _retry;
    private bool _prepared;
    private DampingMode _pendingMode;
    private double _pendingExactDamping;
    private FactorDamping _pendingDampings;
    private (bool IsComputed, DampingMode Mode, double ExactDamping, FactorDamping Dampings)? _beforeLastCommit;

    /// <param name="outputSize">Order of G.</param>
    /// <param name="inputSize">Order of A (0 for a bias-only block).</param>
    /// <param name="eigenbasis">True when this holds an EKFAC eigenbasis (exact mode without damping): its refreshes are
    /// recorded as eigenbasis refreshes, not inverse refreshes.</param>
    public KroneckerBlockInverse(int outputSize, int inputSize, bool eigenbasis = false)
    {
        IsEigenbasis = eigenbasis;
        _dOut = outputSize;
        _dIn = inputSize;
        _front = new Storage(outputSize, inputSize);
        _back = new Storage(outputSize, inputSize);
        if (typeof(T) == typeof(float))
        {
            _retry = new AlignedBuffer<double>(Math.Max(outputSize * outputSize, inputSize * inputSize));
        }
    }

    /// <summary>True when this holds an EKFAC eigenbasis (see the constructor).</summary>
    public bool IsEigenbasis { get; }

    public bool IsComputed { get; private set; }

    public DampingMode Mode { get; private set; }

    public double ExactDamping { get; private set; }

    public FactorDamping Dampings { get; private set; }

    /// <summary>Inverted damped G (factor modes) or its eigenvectors (exact mode).</summary>
    public ReadOnlySpan2D<T> Left => _front.G.AsReadOnlySpan2D(_dOut, _dOut);

    /// <summary>Inverted damped A (factor modes) or its eigenvectors (exact mode).</summary>
    public ReadOnlySpan2D<T> Right => _front.A.AsReadOnlySpan2D(_dIn, _dIn);

    public ReadOnlySpan<T> LeftEigenvalues => _front.GValues;

    public ReadOnlySpan<T> RightEigenvalues => _front.AValues;

    internal Storage Front => _front;

    /// <summary>Marks the inverse as not computed (e.g. after the factors were reset).</summary>
    public void Invalidate()
    {
        IsComputed = false;
        _beforeLastCommit = null;
    }

    /// <summary>Installs a previously saved inverse (checkpoint restore); the arrays are copied.</summary>
    public void Restore(DampingMode mode, double exactDamping, FactorDamping dampings, ReadOnlySpan<T> left, ReadOnlySpan<T> right, ReadOnlySpan<T> leftValues, ReadOnlySpan<T> rightValues)
    {
        left.CopyTo(_front.G);
        right.CopyTo(_front.A);
        leftValues.CopyTo(_front.GValues);
        rightValues.CopyTo(_front.AValues);
        Mode = mode;
        ExactDamping = exactDamping;
        Dampings = dampings;
        IsComputed = true;
        _beforeLastCommit = null;
    }

    /// <summary>Recomputes from the factors; throws (leaving the previous inverse untouched) when a damped factor is not positive definite.</summary>
    public void Compute(CurvatureBackend backend, ReadOnlySpan<T> g, ReadOnlySpan<T> a, KfacInverseOptions options, string context)
    {
        Prepare(backend, g, a, options, context, CancellationToken.None);
        Commit();
    }

    /// <summary>
    /// Computes the new inverse into the back buffers without changing what <see cref="Left"/>, <see cref="Right"/> and the
    /// properties show; <see cref="Commit"/> makes it current. Throws (nothing changed) when a damped factor is not positive
    /// definite or <paramref name="cancellationToken"/> is cancelled (checked before each factor's kernel calls).
    /// </summary>
    public void Prepare(CurvatureBackend backend, ReadOnlySpan<T> g, ReadOnlySpan<T> a, KfacInverseOptions options, string context, CancellationToken cancellationToken)
    {
        options.Validate();
        Prepare(backend, g, a, options.Mode, options.Damping, options.MinDamping, options.RetryInDoublePrecision, context, cancellationToken);
    }

    /// <summary>
    /// <see cref="Prepare(CurvatureBackend, ReadOnlySpan{T}, ReadOnlySpan{T}, KfacInverseOptions, string, CancellationToken)"/>
    /// with validated settings passed one by one (allocation-free for callers whose damping changes).
    /// </summary>
    public void Prepare(CurvatureBackend backend, ReadOnlySpan<T> g, ReadOnlySpan<T> a, DampingMode mode, double damping, double minDamping, bool retryInDoublePrecision, string context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long start = CurvatureMetrics.StartTimestamp(IsEigenbasis ? CurvatureMetrics.EigenbasisRefreshEnabled : CurvatureMetrics.InverseRefreshEnabled);
        var back = _back;
        _prepared = false;
        FactorDamping dampings;
        if (mode == DampingMode.Exact)
        {
            g.CopyTo(back.G);
            backend.SymmetricEigenCounted(back.G.AsSpan2D(_dOut, _dOut), Triangle.Lower, back.GValues);
            if (_dIn > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                a.CopyTo(back.A);
                backend.SymmetricEigenCounted(back.A.AsSpan2D(_dIn, _dIn), Triangle.Lower, back.AValues);
            }

            dampings = new FactorDamping(damping, 0);
        }
        else
        {
            double traceG = double.CreateChecked(FactorMath.Trace(g, _dOut));
            double traceA = _dIn > 0 ? double.CreateChecked(FactorMath.Trace(a, _dIn)) : 0;
            var d = FactorDamping.For(mode, damping, minDamping, traceG, _dOut, traceA, _dIn);
            InvertDamped(backend, g, _dOut, d.Gradient, back.G, retryInDoublePrecision, context, "gradient factor G");
            if (_dIn > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                InvertDamped(backend, a, _dIn, d.Input, back.A, retryInDoublePrecision, context, "input factor A");
            }

            dampings = d;
        }

        _pendingMode = mode;
        _pendingExactDamping = damping;
        _pendingDampings = dampings;
        _prepared = true;
        if (IsEigenbasis)
        {
            CurvatureMetrics.RecordEigenbasisRefresh<T>(start, backend.Kind);
        }
        else
        {
            CurvatureMetrics.RecordInverseRefresh<T>(start, backend.Kind);
        }
    }

    /// <summary>Makes the inverse computed by the last successful <see cref="Prepare(CurvatureBackend, ReadOnlySpan{T}, ReadOnlySpan{T}, KfacInverseOptions, string, CancellationToken)"/> current (cannot fail).</summary>
    public void Commit()
    {
        Debug.Assert(_prepared, "Commit without a successful Prepare.");
        _beforeLastCommit = (IsComputed, Mode, ExactDamping, Dampings);
        Mode = _pendingMode;
        ExactDamping = _pendingExactDamping;
        Dampings = _pendingDampings;
        (_front, _back) = (_back, _front);
        _prepared = false;
        IsComputed = true;
    }

    /// <summary>
    /// Undoes the last <see cref="Commit"/> (the previous inverse is still in the back buffers), so a caller that made an
    /// inverse current as part of a larger operation can roll it back when a later part of that operation fails.
    /// </summary>
    public void RevertLastCommit()
    {
        if (_beforeLastCommit is not { } previous)
        {
            throw new InvalidOperationException("There is no commit to revert.");
        }

        (_front, _back) = (_back, _front);
        (IsComputed, Mode, ExactDamping, Dampings) = previous;
        _beforeLastCommit = null;
    }

    /// <summary>Applies the inverse in place to packed matrices (blocks with an input factor).</summary>
    public void ApplyPacked(CurvatureBackend backend, Span2D<T> packed, Span2D<T> scratch, int columns)
    {
        if (Mode != DampingMode.Exact)
        {
            KroneckerKernels.Sandwich(backend, Left, false, Right, false, packed, scratch, columns);
            return;
        }

        // Z = U_Gᵀ V U_A; Z ./= (g_i a_j + δ); Y = U_G Z U_Aᵀ.
        KroneckerKernels.Sandwich(backend, Left, true, Right, true, packed, scratch, columns);
        T delta = T.CreateChecked(ExactDamping);
        var gv = _front.GValues;
        var av = _front.AValues;
        for (int r = 0; r < packed.Height; r++)
        {
            T gi = gv[r % _dOut];
            Span<T> row = packed.GetRowSpan(r);
            for (int j = 0; j < row.Length; j++)
            {
                row[j] /= (gi * av[j]) + delta;
            }
        }

        KroneckerKernels.Sandwich(backend, Left, false, Right, false, packed, scratch, columns);
    }

    /// <summary>Applies the inverse of a bias-only block: <paramref name="destination"/> = inverse · <paramref name="source"/> (D_out × K).</summary>
    public void ApplyBias(CurvatureBackend backend, ReadOnlySpan2D<T> source, Span2D<T> destination, Span2D<T> scratch)
    {
        if (Mode != DampingMode.Exact)
        {
            backend.MatrixMultiply(Left, Transpose.None, source, Transpose.None, destination, T.One, T.Zero);
            return;
        }

        backend.MatrixMultiply(Left, Transpose.Transpose, source, Transpose.None, scratch, T.One, T.Zero);
        T delta = T.CreateChecked(ExactDamping);
        for (int r = 0; r < scratch.Height; r++)
        {
            T inv = T.One / (_front.GValues[r] + delta);
            Span<T> row = scratch.GetRowSpan(r);
            for (int j = 0; j < row.Length; j++)
            {
                row[j] *= inv;
            }
        }

        backend.MatrixMultiply(Left, Transpose.None, scratch, Transpose.None, destination, T.One, T.Zero);
    }

    private void InvertDamped(CurvatureBackend backend, ReadOnlySpan<T> factor, int n, double damping, AlignedBuffer<T> destination, bool retry, string context, string which)
    {
        factor.CopyTo(destination);
        T d = T.CreateChecked(damping);
        for (int i = 0; i < n; i++)
        {
            destination[(i * n) + i] += d;
        }

        var status = backend.TryInvertPositiveDefinite(destination.AsSpan2D(n, n), Triangle.Lower);
        if (status.Succeeded)
        {
            return;
        }

        CurvatureMetrics.RecordFactorizationFailure(status.Routine, CurvatureMetrics.ElementTypeName<T>(), backend.Kind);
        if (typeof(T) == typeof(float) && retry)
        {
            // curvlinops retries a failed float32 Cholesky in float64; the scratch is kept for later calls.
            var wide = _retry!;
            for (int i = 0; i < n * n; i++)
            {
                wide[i] = double.CreateChecked(factor[i]);
            }

            for (int i = 0; i < n; i++)
            {
                wide[(i * n) + i] += damping;
            }

            var wideView = wide.AsSpan2D(n, n);
            var wideStatus = backend.TryInvertPositiveDefinite(wideView, Triangle.Lower);
            CurvatureMetrics.RecordFloat64Retry(wideStatus.Succeeded, backend.Kind);
            if (wideStatus.Succeeded)
            {
                for (int i = 0; i < n * n; i++)
                {
                    destination[i] = T.CreateChecked(wide[i]);
                }

                return;
            }

            CurvatureMetrics.RecordFactorizationFailure(wideStatus.Routine, "float64", backend.Kind);
            status = wideStatus;
        }

        throw new MatrixNotPositiveDefiniteException(status, n, $"The damped {which} of {context} (damping {damping})");
    }

    internal sealed class Storage(int dOut, int dIn)
    {
        public AlignedBuffer<T> G { get; } = new(dOut * dOut);

        public AlignedBuffer<T> A { get; } = new(dIn * dIn);

        public T[] GValues { get; } = new T[dOut];

        public T[] AValues { get; } = new T[dIn];
    }
}
