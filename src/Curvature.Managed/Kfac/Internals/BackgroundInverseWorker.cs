using System.Numerics;
using System.Runtime.ExceptionServices;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Internals;

namespace Curvature.Kfac.Internals;

/// <summary>
/// One long-lived background thread that recomputes a <see cref="KroneckerBlockInverse{T}"/> from a snapshot of the
/// factors. The owner copies the factors in with <see cref="Start"/>, and after completion takes the result with
/// <see cref="TryTake"/>, which swaps the finished inverse with the owner's (double buffering: the worker only ever
/// writes an inverse the owner is not reading). Snapshot buffers, the result inverse and the thread are created once;
/// a refresh allocates nothing (kernel scratch of the worker thread grows once, then is reused).
/// </summary>
internal sealed class BackgroundInverseWorker<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly T[] _snapshotG;
    private readonly T[] _snapshotA;
    private readonly string _context;
    private readonly SemaphoreSlim _start = new(0);
    private readonly ManualResetEventSlim _done = new(true);
    private KroneckerBlockInverse<T> _result;
    private DampingMode _mode;
    private double _damping;
    private double _minDamping;
    private Exception? _error;
    private Thread? _thread;
    private volatile bool _stopping;
    private bool _disposed;

    public BackgroundInverseWorker(CurvatureBackend backend, int outputSize, int inputSize, string context)
    {
        _backend = backend;
        _snapshotG = new T[outputSize * outputSize];
        _snapshotA = new T[inputSize * inputSize];
        _result = new KroneckerBlockInverse<T>(outputSize, inputSize);
        _context = context;
    }

    /// <summary>True from <see cref="Start"/> until the result has been taken or discarded (owner's thread only).</summary>
    public bool InFlight { get; private set; }

    /// <summary>True when the job in flight has finished (successfully or not).</summary>
    public bool IsCompleted => _done.IsSet;

    /// <summary>Copies the factors and starts the recomputation with the given damping on the worker thread (no allocation
    /// after the first call).</summary>
    public void Start(ReadOnlySpan<T> g, ReadOnlySpan<T> a, DampingMode mode, double damping, double minDamping)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (InFlight)
        {
            throw new InvalidOperationException("A background inverse refresh is already in flight.");
        }

        g.CopyTo(_snapshotG);
        a.CopyTo(_snapshotA);
        (_mode, _damping, _minDamping) = (mode, damping, minDamping);
        _error = null;
        _done.Reset();
        InFlight = true;
        if (_thread is null)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "Curvature K-FAC inverse refresh" };
            _thread.Start();
        }

        _start.Release();
    }

    /// <summary>Blocks until the job in flight (if any) has finished.</summary>
    public void Wait()
    {
        if (InFlight)
        {
            _done.Wait();
        }
    }

    /// <summary>
    /// If a finished job is in flight: on success swaps its inverse with <paramref name="current"/> and returns true with
    /// <paramref name="error"/> null; on failure leaves <paramref name="current"/> alone and returns true with the error.
    /// Returns false when nothing finished is waiting.
    /// </summary>
    public bool TryTake(ref KroneckerBlockInverse<T> current, out ExceptionDispatchInfo? error)
    {
        error = null;
        if (!InFlight || !_done.IsSet)
        {
            return false;
        }

        InFlight = false;
        if (_error is not null)
        {
            error = ExceptionDispatchInfo.Capture(_error);
            _error = null;
            return true;
        }

        (current, _result) = (_result, current);
        return true;
    }

    /// <summary>Waits for the job in flight and throws its result away (its error too).</summary>
    public void Discard()
    {
        Wait();
        InFlight = false;
        _error = null;
    }

    /// <summary>Waits for the job in flight, then stops the thread. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Discard();
        if (_thread is not null)
        {
            _stopping = true;
            _start.Release();
            _thread.Join();
        }

        _start.Dispose();
        _done.Dispose();
    }

    private void Run()
    {
        // The refresh must not steal the caller's core (see BackgroundThreadPriority): the caller's step time is what
        // the background mode protects; the refresh may take longer instead.
        BackgroundThreadPriority.LowerCurrentThread();
        while (true)
        {
            _start.Wait();
            if (_stopping)
            {
                return;
            }

            try
            {
                _result.Compute(_backend, _snapshotG, _snapshotA, _mode, _damping, _minDamping, retryInDoublePrecision: true, _context);
            }
#pragma warning disable CA1031 // Every failure is handed to the owner's thread, never allowed to crash the process.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _error = e;
            }

            _done.Set();
        }
    }
}
