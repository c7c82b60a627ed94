using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Curvature.Native.Internals;

/// <summary>The CPU vendor string from <c>CPUID</c> leaf 0 (e.g. <c>GenuineIntel</c>, <c>AuthenticAMD</c>).</summary>
internal static class CpuVendor
{
    private static readonly Lazy<string> s_vendor = new(Read);

    /// <summary>The vendor string, or <c>"unknown (not x86)"</c>.</summary>
    public static string Name => s_vendor.Value;

    /// <summary>True on Intel CPUs, where MKL runs its tuned code paths.</summary>
    public static bool IsIntel => Name == "GenuineIntel";

    private static string Read()
    {
        if (!X86Base.IsSupported)
        {
            return "unknown (not x86)";
        }

        // Leaf 0: the 12-byte vendor string is EBX, EDX, ECX in that order.
        (_, int ebx, int ecx, int edx) = X86Base.CpuId(0, 0);
        Span<byte> bytes = stackalloc byte[12];
        BitConverter.TryWriteBytes(bytes[..4], ebx);
        BitConverter.TryWriteBytes(bytes[4..8], edx);
        BitConverter.TryWriteBytes(bytes[8..], ecx);
        return Encoding.ASCII.GetString(bytes);
    }
}
