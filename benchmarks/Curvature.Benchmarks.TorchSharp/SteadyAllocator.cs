using System.Runtime.InteropServices;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>
/// Keeps glibc's malloc from returning large blocks to the kernel (<c>mallopt</c>: mmap and trim thresholds 1 GiB), so
/// libtorch's activation buffers are reused instead of being mapped and faulted in anew at every step. With the default
/// settings the page faults of whichever step frees and reallocates more dominate small differences (the CNN's plain step
/// then measures slower than the bridged one).
/// </summary>
internal static partial class SteadyAllocator
{
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;

    public static bool Enable() =>
        OperatingSystem.IsLinux() && mallopt(MMmapThreshold, 1 << 30) == 1 && mallopt(MTrimThreshold, 1 << 30) == 1;

    [LibraryImport("libc")]
    private static partial int mallopt(int param, int value);
}
