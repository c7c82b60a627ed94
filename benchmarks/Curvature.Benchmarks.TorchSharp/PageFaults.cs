using System.Runtime.InteropServices;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>
/// Minor page faults of the calling thread (Linux <c>getrusage(RUSAGE_THREAD)</c>): a libtorch buffer that glibc returned to
/// the kernel and maps anew faults in every page it touches, which is where the steps' times scatter with the default
/// allocator.
/// </summary>
internal static partial class PageFaults
{
    private const int RusageThread = 1;

    public static bool IsAvailable { get; } = OperatingSystem.IsLinux() && Probe();

    /// <summary>Minor faults of this thread so far.</summary>
    public static long Minor()
    {
        if (getrusage(RusageThread, out var usage) != 0)
        {
            throw new InvalidOperationException("getrusage(RUSAGE_THREAD) failed.");
        }

        return usage.MinorFaults;
    }

    private static bool Probe()
    {
        try
        {
            return getrusage(RusageThread, out _) == 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary><c>struct rusage</c> on 64-bit Linux: two timevals, then 14 longs (maxrss, ixrss, idrss, isrss, minflt, …).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Usage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public long MaxResidentSet;
        public long SharedMemory;
        public long UnsharedData;
        public long UnsharedStack;
        public long MinorFaults;
        public long MajorFaults;
        public long Swaps;
        public long BlockInputs;
        public long BlockOutputs;
        public long MessagesSent;
        public long MessagesReceived;
        public long Signals;
        public long VoluntarySwitches;
        public long InvoluntarySwitches;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int getrusage(int who, out Usage usage);
}
