using System.Numerics;
using System.Runtime.ExceptionServices;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Internals;

namespace Curvature.Kfac.Internals;

/// <summary>
/// One long-lived background thread that recomputes a <see cref="KroneckerBlockInverse{T}"/> from a snapshot of the
/// factors. The owner copies the factors in with <see cref="Start(ReadOnlySpan{T}, ReadOnlySpan{T}, DampingMode, double, double, bool)"/>, and after completion takes the result with
/// <see cref="TryTake"/>, which swaps the finished inverse with the owner's (double buffering: the worker only ever
/// writes an inverse the owner is not reading). Snapshot buffers, the result inverse and the thread are created once;
/// a refresh allocates nothing (kernel scratch of the worker thread grows once, then is reused).
/// </summary>
/// <remarks>
/// The thread references only the inner <see cref="Core"/>, never this object: when the owner is dropped without
/// <see cref="Dispose"/>, this object becomes unreachable, and its finalizer tells the core to stop, so the thread ends
/// (after the refresh in flight, if any) instead of living as long as the process.
/// </remarks>
internal sealed class BackgroundInverseWorker<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Core _core;
    private bool _disposed;

    public BackgroundInverseWorker(CurvatureBackend backend, int outputSize, int inputSize, string context, bool eigenbasis = false)
    {
        _core = new Core(backend, outputSize, inputSize, context, eigenbasis);
    }

    ~BackgroundInverseWorker()
    {
        // The owner was dropped without Dispose: end the thread. Nothing here waits (a finalizer must not block).
        _core.RequestStop();
    }

    /// <summary>True from <see cref="Start(ReadOnlySpan{T}, ReadOnlySpan{T}, DampingMode, double, double, bool)"/> until the result has been taken or discarded (owner's thread only).</summary>
    public bool InFlight { get; private set; }

    /// <summary>True when the job in flight has finished (successfully or not).</summary>
    public bool IsCompleted => _core.Done.IsSet;

    /// <summary>Copies the factors and starts the recomputation on the worker thread.</summary>
    public void Start(ReadOnlySpan<T> g, ReadOnlySpan<T> a, KfacInverseOptions options) =>
        Start(g, a, options.Mode, options.Damping, options.MinDamping, options.RetryInDoublePrecision);

    /// <summary>Copies the factors and starts the recomputation with settings passed one by one (allocation-free).</summary>
    public void Start(ReadOnlySpan<T> g, ReadOnlySpan<T> a, DampingMode mode, double damping, double minDamping, bool retryInDoublePrecision)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (InFlight)
        {
            throw new InvalidOperationException("A background inverse refresh is already in flight.");
        }

        InFlight = true;
        _core.Start(g, a, mode, damping, minDamping, retryInDoublePrecision);
    }

    /// <summary>Blocks until the job in flight (if any) has finished.</summary>
    public void Wait()
    {
        if (InFlight)
        {
            _core.Done.Wait();
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
        if (!InFlight || !_core.Done.IsSet)
        {
            return false;
        }

        InFlight = false;
        if (_core.Error is { } failure)
        {
            error = ExceptionDispatchInfo.Capture(failure);
            _core.Error = null;
            return true;
        }

        (current, _core.Result) = (_core.Result, current);
        return true;
    }

    /// <summary>Waits for the job in flight and throws its result away (its error too).</summary>
    public void Discard()
    {
        Wait();
        InFlight = false;
        _core.Error = null;
    }

    /// <summary>Waits for the job in flight, then stops the thread. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        GC.SuppressFinalize(this);
        Discard();
        _core.Stop();
    }

    /// <summary>Everything the thread touches: snapshots, the result inverse, the signals. It holds no reference to the
    /// worker or its owner, so those can be collected while the thread waits.</summary>
    private sealed class Core
    {
        private readonly CurvatureBackend _backend;
        private readonly T[] _snapshotG;
        private readonly T[] _snapshotA;
        private readonly string _context;
        private readonly SemaphoreSlim _start = new(0);
        private DampingMode _mode;
        private double _damping;
        private double _minDamping;
        private bool _retry;
        private Thread? _thread;
        private volatile bool _stopping;

        public Core(CurvatureBackend backend, int outputSize, int inputSize, string context, bool eigenbasis)
        {
            _backend = backend;
            _snapshotG = new T[outputSize * outputSize];
            _snapshotA = new T[inputSize * inputSize];
            Result = new KroneckerBlockInverse<T>(outputSize, inputSize, eigenbasis);
            _context = context;
        }

        /// <summary>Set when the job in flight has finished.</summary>
        public ManualResetEventSlim Done { get; } = new(true);

        /// <summary>The inverse the thread computes into (swapped with the owner's by <see cref="TryTake"/>).</summary>
        public KroneckerBlockInverse<T> Result { get; set; }

        /// <summary>The failure of the last job, if any.</summary>
        public Exception? Error { get; set; }

        public void Start(ReadOnlySpan<T> g, ReadOnlySpan<T> a, DampingMode mode, double damping, double minDamping, bool retry)
        {
            g.CopyTo(_snapshotG);
            a.CopyTo(_snapshotA);
            (_mode, _damping, _minDamping, _retry) = (mode, damping, minDamping, retry);
            Error = null;
            Done.Reset();
            if (_thread is null)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = "Curvature K-FAC inverse refresh" };
                _thread.Start();
            }

            _start.Release();
        }

        /// <summary>Asks the thread to end after its current job, without waiting (safe from a finalizer).</summary>
        public void RequestStop()
        {
            _stopping = true;
            if (_thread is not null)
            {
                _start.Release();
            }
        }

        /// <summary>Stops the thread and waits for it, then releases the signals.</summary>
        public void Stop()
        {
            RequestStop();
            _thread?.Join();
            _start.Dispose();
            Done.Dispose();
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
                    Result.Prepare(_backend, _snapshotG, _snapshotA, _mode, _damping, _minDamping, _retry, _context, CancellationToken.None);
                    Result.Commit();
                }
#pragma warning disable CA1031 // Every failure is handed to the owner's thread, never allowed to crash the process.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Error = e;
                }

                Done.Set();
            }
        }
    }
}
