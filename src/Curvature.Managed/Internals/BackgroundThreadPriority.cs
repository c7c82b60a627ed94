using System.Runtime.InteropServices;

namespace Curvature.Internals;

/// <summary>
/// Lowers the scheduling priority of the calling thread (a background worker) so that it never takes CPU time from the
/// caller's thread: on Linux the thread's nice value is raised to 19 (<c>setpriority(PRIO_PROCESS, tid, 19)</c>, which
/// needs no privilege; <see cref="Thread.Priority"/> has no effect there); elsewhere <see cref="ThreadPriority.Lowest"/>.
/// </summary>
/// <remarks>
/// Why: a newly woken worker is often placed on the waker's core by the Linux scheduler and would then time-slice with the
/// caller until the load balancer moves it; at nice 19 it gets about 1.5 % of a shared core, and an idle core pulls it
/// at once. Failures are ignored (the worker then runs at normal priority).
/// </remarks>
internal static partial class BackgroundThreadPriority
{
    private const int PrioProcess = 0;
    private const int LowestNice = 19;

    /// <summary>Applies the lowest priority to the current thread; returns false when it could not be changed.</summary>
    public static bool LowerCurrentThread()
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                return SetPriority(PrioProcess, GetThreadId(), LowestNice) == 0;
            }

            Thread.CurrentThread.Priority = ThreadPriority.Lowest;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException or ThreadStateException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int prio);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
