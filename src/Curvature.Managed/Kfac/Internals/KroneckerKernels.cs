using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;

namespace Curvature.Kfac.Internals;

/// <summary>
/// Products of Kronecker blocks with parameter-space matrices. A block with an input factor works on a packed copy
/// <c>P[k·D_out + o, j] = V_k[o, j]</c> (the K matrices <c>V_k = [W | b]</c> stacked), so that the left factor is applied
/// with K GEMMs and the right factor with a single GEMM over all K·D_out rows.
/// </summary>
internal static class KroneckerKernels
{
    /// <summary>Copies the block's columns of <paramref name="source"/> (Dim × K) into the packed layout (K·D_out × cols).</summary>
    public static void Gather<T>(KfacBlockLayout block, ReadOnlySpan2D<T> source, Span2D<T> packed)
        where T : unmanaged
    {
        int dOut = block.OutputSize, dIn = block.Layer.WeightInputSize, k = source.Width;
        for (int c = 0; c < k; c++)
        {
            for (int o = 0; o < dOut; o++)
            {
                Span<T> row = packed.GetRowSpan((c * dOut) + o);
                if (block.HasWeight)
                {
                    int baseRow = block.WeightOffset + (o * dIn);
                    for (int i = 0; i < dIn; i++)
                    {
                        row[i] = source[baseRow + i, c];
                    }
                }

                if (block.HasBias)
                {
                    row[dIn] = source[block.BiasOffset + o, c];
                }
            }
        }
    }

    /// <summary>Writes the packed block result back into <paramref name="destination"/> (Dim × K).</summary>
    public static void Scatter<T>(KfacBlockLayout block, ReadOnlySpan2D<T> packed, Span2D<T> destination)
        where T : unmanaged
    {
        int dOut = block.OutputSize, dIn = block.Layer.WeightInputSize, k = destination.Width;
        for (int c = 0; c < k; c++)
        {
            for (int o = 0; o < dOut; o++)
            {
                ReadOnlySpan<T> row = packed.GetRowSpan((c * dOut) + o);
                if (block.HasWeight)
                {
                    int baseRow = block.WeightOffset + (o * dIn);
                    for (int i = 0; i < dIn; i++)
                    {
                        destination[baseRow + i, c] = row[i];
                    }
                }

                if (block.HasBias)
                {
                    destination[block.BiasOffset + o, c] = row[dIn];
                }
            }
        }
    }

    /// <summary>In place on the packed matrices: <c>V_k ← op(L)·V_k·op(R)ᵀ</c> for k = 0..K−1.</summary>
    /// <remarks>BLAS <c>?GEMM</c>: K products with the left factor, one with the right factor.</remarks>
    public static void Sandwich<T>(CurvatureBackend backend, ReadOnlySpan2D<T> left, bool transposeLeft, ReadOnlySpan2D<T> right, bool transposeRight, Span2D<T> packed, Span2D<T> scratch, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int dOut = left.Height;
        int cols = packed.Width;
        var tl = transposeLeft ? Transpose.Transpose : Transpose.None;
        for (int c = 0; c < columns; c++)
        {
            backend.MatrixMultiply(left, tl, packed.Slice(c * dOut, 0, dOut, cols), Transpose.None, scratch.Slice(c * dOut, 0, dOut, cols), T.One, T.Zero);
        }

        backend.MatrixMultiply(scratch, Transpose.None, right, transposeRight ? Transpose.None : Transpose.Transpose, packed, T.One, T.Zero);
    }

    /// <summary>Views <paramref name="storage"/> as a rows × cols matrix.</summary>
    public static Span2D<T> View<T>(T[] storage, int rows, int cols) => new(storage, 0, rows, cols, 0);

    /// <summary>Views <paramref name="storage"/> as a read-only rows × cols matrix.</summary>
    public static ReadOnlySpan2D<T> ReadOnlyView<T>(T[] storage, int rows, int cols) => new(storage, 0, rows, cols, 0);

    /// <inheritdoc cref="ReadOnlyView{T}(T[], int, int)"/>
    public static ReadOnlySpan2D<T> ReadOnlyView<T>(Curvature.Internals.AlignedBuffer<T> storage, int rows, int cols)
        where T : unmanaged => storage.AsReadOnlySpan2D(rows, cols);
}
