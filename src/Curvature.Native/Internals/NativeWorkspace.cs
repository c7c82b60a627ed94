using Curvature.Internals;

namespace Curvature.Native.Internals;

/// <summary>
/// Per-thread LAPACK workspace: one growable 64-byte-aligned pinned buffer for <c>work</c>, one for <c>iwork</c>, one
/// n × n scratch matrix, and the workspace sizes each provider asked for (queried once per provider, precision and
/// order n). In the steady state (same sizes again) nothing is allocated. The buffers are pinned
/// (<see cref="AlignedBuffer{T}"/>), so their pointers go to native code without <c>fixed</c>, and they are collected
/// with the thread's workspace.
/// </summary>
internal sealed unsafe class NativeWorkspace
{
    [ThreadStatic]
    private static NativeWorkspace? t_current;

    private readonly Dictionary<(int Provider, int ElementSize, int N), (int Work, int IWork)> _sizes = [];
    private AlignedBuffer<double>? _work;
    private AlignedBuffer<int>? _iwork;
    private AlignedBuffer<double>? _matrix;

    /// <summary>The calling thread's workspace.</summary>
    public static NativeWorkspace Current => t_current ??= new NativeWorkspace();

    /// <summary>Looks up the cached workspace sizes of a routine call.</summary>
    public bool TryGetSizes(int provider, int elementSize, int n, out int work, out int iwork)
    {
        bool found = _sizes.TryGetValue((provider, elementSize, n), out var sizes);
        (work, iwork) = sizes;
        return found;
    }

    /// <summary>Remembers the workspace sizes of a routine call.</summary>
    public void SetSizes(int provider, int elementSize, int n, int work, int iwork) => _sizes[(provider, elementSize, n)] = (work, iwork);

    /// <summary>A buffer of at least <paramref name="count"/> elements of <typeparamref name="T"/> (contents undefined).</summary>
    public T* Work<T>(int count)
        where T : unmanaged => (T*)Grow(ref _work, (long)Math.Max(count, 1) * sizeof(T));

    /// <summary>A dense scratch matrix of at least <paramref name="count"/> elements of <typeparamref name="T"/>, separate
    /// from <see cref="Work{T}"/> (contents undefined).</summary>
    public T* Matrix<T>(long count)
        where T : unmanaged => (T*)Grow(ref _matrix, Math.Max(count, 1) * sizeof(T));

    /// <summary>An integer buffer of at least <paramref name="count"/> elements (contents undefined).</summary>
    public int* IWork(int count)
    {
        int n = Math.Max(count, 1);
        if (_iwork is null || _iwork.Length < n)
        {
            _iwork = null;
            _iwork = new AlignedBuffer<int>(n);
        }

        return _iwork.DangerousGetPointer();
    }

    /// <summary>Storage is counted in 8-byte words, so LP64-sized requests (up to 2³¹ − 1 elements) always fit.</summary>
    private static double* Grow(ref AlignedBuffer<double>? buffer, long bytes)
    {
        long words = (bytes + 7) / 8;
        if (buffer is null || buffer.Length < words)
        {
            buffer = null; // let the old one go before allocating the larger one
            buffer = new AlignedBuffer<double>(checked((int)words));
        }

        return buffer.DangerousGetPointer();
    }
}
