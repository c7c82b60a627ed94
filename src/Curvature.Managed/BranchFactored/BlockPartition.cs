namespace Curvature.BranchFactored;

/// <summary>
/// The partition of the <c>D</c> state dimensions into contiguous blocks: <c>B = max(1, min(blocks, D))</c>
/// parts as equal as possible, the first <c>D mod B</c> of them one larger (<c>D div B + 1</c>), the rest <c>D div B</c>.
/// </summary>
public static class BlockPartition
{
    /// <summary>The number of blocks actually used for <paramref name="dimension"/> state dimensions: <c>max(1, min(requested, dimension))</c>.</summary>
    public static int EffectiveCount(int dimension, int requestedBlocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        return Math.Max(1, Math.Min(requestedBlocks, dimension));
    }

    /// <summary>The size of block <paramref name="index"/> of <paramref name="count"/> blocks over <paramref name="dimension"/> dimensions.</summary>
    public static int SizeOf(int dimension, int count, int index) => dimension / count + (index < dimension % count ? 1 : 0);

    /// <summary>The start of block <paramref name="index"/> (the sum of the sizes before it).</summary>
    public static int StartOf(int dimension, int count, int index) => index * (dimension / count) + Math.Min(index, dimension % count);

    /// <summary>The block sizes for <paramref name="dimension"/> dimensions and <paramref name="requestedBlocks"/> requested blocks (allocates).</summary>
    public static int[] Sizes(int dimension, int requestedBlocks)
    {
        int count = EffectiveCount(dimension, requestedBlocks);
        var sizes = new int[count];
        for (int b = 0; b < count; b++)
        {
            sizes[b] = SizeOf(dimension, count, b);
        }

        return sizes;
    }
}
