using System.Runtime.InteropServices;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>
/// The calling thread's CPU time (Linux <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, nanosecond resolution). With one
/// thread per call, all of a kernel's work runs on the calling thread, so this clock leaves out the time the thread
/// spends descheduled on a shared machine, which wall-clock pairs cannot.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    /// <summary>Whether the clock is available (Linux).</summary>
    public static bool IsAvailable { get; } = OperatingSystem.IsLinux() && TryRead(out _);

    /// <summary>The thread's CPU time in seconds (0 when unavailable).</summary>
    public static double Seconds() => TryRead(out double s) ? s : 0;

    private static bool TryRead(out double seconds)
    {
        seconds = 0;
        try
        {
            if (clock_gettime(ClockThreadCpuTimeId, out var ts) != 0)
            {
                return false;
            }

            seconds = ts.Seconds + (ts.Nanoseconds * 1e-9);
            return true;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clockId, out TimeSpec time);
}
