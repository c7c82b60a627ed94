using System.Runtime.InteropServices;

namespace Curvature.Native.Internals;

/// <summary>
/// Per-thread LAPACK workspace: one growable 64-byte-aligned native buffer for <c>work</c>, one for <c>iwork</c>, and
/// the workspace sizes each provider asked for (queried once per provider, precision and order n). In the steady state
/// (same sizes again) nothing is allocated. The buffers live in native memory, so nothing needs pinning, and they are
/// freed by the finalizer after the owning thread has ended.
/// </summary>
internal sealed unsafe class NativeWorkspace
{
    [ThreadStatic]
    private static NativeWorkspace? t_current;

    private readonly Dictionary<(int Provider, int ElementSize, int N), (int Work, int IWork)> _sizes = [];
    private void* _work;
    private nuint _workBytes;
    private int* _iwork;
    private nuint _iworkCount;

    /// <summary>The calling thread's workspace.</summary>
    public static NativeWorkspace Current => t_current ??= new NativeWorkspace();

    ~NativeWorkspace()
    {
        NativeMemory.AlignedFree(_work);
        NativeMemory.AlignedFree(_iwork);
    }

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
        where T : unmanaged
    {
        nuint bytes = (nuint)Math.Max(count, 1) * (nuint)sizeof(T);
        if (bytes > _workBytes)
        {
            NativeMemory.AlignedFree(_work);
            _work = null;
            _workBytes = 0;
            _work = NativeMemory.AlignedAlloc(bytes, 64);
            _workBytes = bytes;
        }

        return (T*)_work;
    }

    /// <summary>An integer buffer of at least <paramref name="count"/> elements (contents undefined).</summary>
    public int* IWork(int count)
    {
        nuint n = (nuint)Math.Max(count, 1);
        if (n > _iworkCount)
        {
            NativeMemory.AlignedFree(_iwork);
            _iwork = null;
            _iworkCount = 0;
            _iwork = (int*)NativeMemory.AlignedAlloc(n * sizeof(int), 64);
            _iworkCount = n;
        }

        return _iwork;
    }
}
