namespace Curvature.Tests.Kernels;

/// <summary>Sizes and pitches the kernel tests sweep (0–17 exhaustively, then around block edges).</summary>
internal static class KernelSizes
{
    public static readonly int[] Small = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];

    public static readonly int[] Edges = [31, 32, 33, 64, 127];

    public static readonly int[] Pitches = [0, 1, 7];

    public static IEnumerable<int> All => Small.Concat(Edges);
}
