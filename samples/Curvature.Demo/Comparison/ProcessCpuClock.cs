using System.Runtime.InteropServices;

namespace Curvature.Demo.Comparison;

/// <summary>
/// The CPU time this process has used (all threads), from <c>clock_gettime(CLOCK_PROCESS_CPUTIME_ID)</c>: unlike wall
/// time it does not count time spent descheduled by other processes on a shared machine. The PyTorch peer reports the
/// same clock (Python's <c>time.process_time_ns</c>).
/// </summary>
internal static partial class ProcessCpuClock
{
    private const int ClockProcessCpuTimeId = 2; // Linux

    /// <summary>Whether the clock can be read here (Linux).</summary>
    public static bool IsAvailable => OperatingSystem.IsLinux();

    /// <summary>CPU seconds used so far (NaN where the clock is unavailable).</summary>
    public static double Seconds()
    {
        if (!IsAvailable || ClockGetTime(ClockProcessCpuTimeId, out var time) != 0)
        {
            return double.NaN;
        }

        return time.Seconds + (time.Nanoseconds * 1e-9);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
