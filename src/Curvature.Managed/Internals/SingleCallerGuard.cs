using System.Diagnostics.CodeAnalysis;

namespace Curvature.Internals;

/// <summary>
/// Detects the misuse of a non-thread-safe instance from two threads at once: a call enters the guard, and a second
/// thread that enters while a call is in progress gets an <see cref="InvalidOperationException"/> instead of silently
/// corrupting shared scratch or state. The thread inside may re-enter (a callback calling back in). One interlocked
/// operation per call, no allocation. It catches overlapping calls, not every race: two calls that never overlap in
/// time pass, which is what a correctly synchronised caller does.
/// </summary>
internal sealed class SingleCallerGuard
{
    private int _owner; // managed thread id of the thread inside a call; 0 when none
    private int _depth; // nesting depth of the owner's calls (touched by the owner only)

    /// <summary>Enters a call on <paramref name="instance"/>; dispose the returned scope when the call ends.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call on the same instance.</exception>
    public Scope Enter(object instance)
    {
        int me = Environment.CurrentManagedThreadId;
        int owner = Interlocked.CompareExchange(ref _owner, me, 0);
        if (owner != 0 && owner != me)
        {
            ThrowConcurrentUse(instance);
        }

        _depth++;
        return new Scope(this);
    }

    private void Exit()
    {
        if (--_depth == 0)
        {
            Volatile.Write(ref _owner, 0);
        }
    }

    [DoesNotReturn]
    private static void ThrowConcurrentUse(object instance) =>
        throw new InvalidOperationException(
            $"{instance.GetType().Name} is not thread-safe, and another thread is in the middle of a call on this instance. " +
            "Use one instance per thread, or serialise the calls (for example with a lock).");

    /// <summary>The span of one call; disposing it leaves the guard.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly SingleCallerGuard? _guard;

        internal Scope(SingleCallerGuard guard) => _guard = guard;

        /// <summary>Leaves the guard.</summary>
        public void Dispose() => _guard?.Exit();
    }
}
