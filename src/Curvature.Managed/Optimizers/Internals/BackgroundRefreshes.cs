using System.Numerics;
using System.Runtime.ExceptionServices;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Kfac.Internals;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// The background refreshes of one layer's Kronecker sub-blocks (K-FAC inverses or EKFAC eigenbases): one worker per
/// sub-block, created on first use; a finished result is swapped with the block's current representation (double
/// buffering), and a failure is kept until the owner reports it.
/// </summary>
internal sealed class BackgroundRefreshes<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly KfacBlockLayout[] _layouts;
    private readonly BackgroundInverseWorker<T>?[] _workers;
    private readonly string _context;
    private readonly bool _eigenbases;
    private ExceptionDispatchInfo? _error;

    public BackgroundRefreshes(CurvatureBackend backend, KfacBlockLayout[] layouts, string context, bool eigenbases)
    {
        _eigenbases = eigenbases;
        _backend = backend;
        _layouts = layouts;
        _workers = new BackgroundInverseWorker<T>?[layouts.Length];
        _context = context;
    }

    /// <summary>True while some sub-block's refresh is in flight or finished but not swapped in.</summary>
    public bool IsPending
    {
        get
        {
            foreach (var w in _workers)
            {
                if (w is { InFlight: true })
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Workers created so far (each holds snapshot and result buffers of its sub-block's size).</summary>
    public int WorkerCount
    {
        get
        {
            int count = 0;
            foreach (var w in _workers)
            {
                count += w is null ? 0 : 1;
            }

            return count;
        }
    }

    /// <summary>Starts sub-block <paramref name="index"/>'s refresh from a snapshot of its factors (nothing when one is in flight).</summary>
    public void Start(int index, ReadOnlySpan<T> g, ReadOnlySpan<T> a, DampingMode mode, double damping, double minDamping)
    {
        var b = _layouts[index];
        var worker = _workers[index] ??= new BackgroundInverseWorker<T>(_backend, b.OutputSize, b.InputSize, _context, _eigenbases);
        if (!worker.InFlight)
        {
            worker.Start(g, a, mode, damping, minDamping, true);
        }
    }

    /// <summary>Swaps a finished, successful refresh of sub-block <paramref name="index"/> into <paramref name="current"/>;
    /// a failed one is kept for <see cref="ThrowPendingError"/>. Returns true when a result was swapped in.</summary>
    public bool TrySwapIn(int index, ref KroneckerBlockInverse<T> current)
    {
        if (_workers[index] is not { InFlight: true, IsCompleted: true } worker || !worker.TryTake(ref current, out var error))
        {
            return false;
        }

        if (error is null)
        {
            return true;
        }

        _error ??= error;
        return false;
    }

    /// <summary>Rethrows (once) the failure of a background refresh, if any.</summary>
    public void ThrowPendingError()
    {
        if (_error is { } failed)
        {
            _error = null;
            failed.Throw();
        }
    }

    /// <summary>Waits for the refreshes in flight.</summary>
    public void Wait()
    {
        foreach (var w in _workers)
        {
            w?.Wait();
        }
    }

    /// <summary>Discards the refreshes in flight, their results and errors.</summary>
    public void Discard()
    {
        foreach (var w in _workers)
        {
            w?.Discard();
        }

        _error = null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i]?.Dispose();
            _workers[i] = null;
        }
    }
}
