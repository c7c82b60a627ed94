using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Kfac;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// Moves one Kronecker block's parameters between the optimizers' flat vectors and the block matrix <c>[W | b]</c>
/// (joint), <c>W</c> (weight only, <c>D_out × D_in</c>) or <c>b</c> (bias only, a column), and blends running statistics.
/// </summary>
internal static class KroneckerPacking
{
    /// <summary>Copies the block's entries of <paramref name="flat"/> into <paramref name="buffer"/> viewed as its matrix.</summary>
    public static Span2D<T> Pack<T>(KfacBlockLayout block, int weightOffset, int biasOffset, ReadOnlySpan<T> flat, T[] buffer)
    {
        int rows = block.OutputSize, cols = block.Columns, d = block.Layer.WeightInputSize;
        var packed = new Span2D<T>(buffer, 0, rows, cols, 0);
        for (int o = 0; o < rows; o++)
        {
            Span<T> row = packed.GetRowSpan(o);
            if (block.HasWeight)
            {
                flat.Slice(weightOffset + (o * d), d).CopyTo(row);
            }

            if (block.HasBias)
            {
                row[block.HasWeight ? d : 0] = flat[biasOffset + o];
            }
        }

        return packed;
    }

    /// <summary>Writes the block matrix back into the block's entries of <paramref name="flat"/>.</summary>
    public static void Unpack<T>(KfacBlockLayout block, int weightOffset, int biasOffset, ReadOnlySpan2D<T> packed, Span<T> flat)
    {
        int rows = block.OutputSize, d = block.Layer.WeightInputSize;
        for (int o = 0; o < rows; o++)
        {
            ReadOnlySpan<T> row = packed.GetRowSpan(o);
            if (block.HasWeight)
            {
                row[..d].CopyTo(flat.Slice(weightOffset + (o * d), d));
            }

            if (block.HasBias)
            {
                flat[biasOffset + o] = row[block.HasWeight ? d : 0];
            }
        }
    }

    /// <summary><c>next[offset..] = keep·current[offset..] + add·batch</c>.</summary>
    public static void Blend<T>(ReadOnlySpan<T> current, Span<T> next, int offset, ReadOnlySpan<T> batch, T keep, T add)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var c = current.Slice(offset, batch.Length);
        var n = next.Slice(offset, batch.Length);
        for (int j = 0; j < batch.Length; j++)
        {
            n[j] = (keep * c[j]) + (add * batch[j]);
        }
    }
}
