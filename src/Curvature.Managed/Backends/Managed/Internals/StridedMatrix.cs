using System.Runtime.CompilerServices;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// A pinned matrix operand with independent row and column strides (in elements), so a transpose, or the
/// "upper = transpose of lower" view of a symmetric factor, is just a swap of strides and no copy.
/// </summary>
internal readonly unsafe struct StridedMatrix<T>
    where T : unmanaged
{
    public readonly T* Data;
    public readonly int Rows;
    public readonly int Cols;
    public readonly nint RowStride;
    public readonly nint ColStride;

    public StridedMatrix(T* data, int rows, int cols, nint rowStride, nint colStride)
    {
        Data = data;
        Rows = rows;
        Cols = cols;
        RowStride = rowStride;
        ColStride = colStride;
    }

    /// <summary>Element (i, j).</summary>
    public ref T this[int i, int j]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Data[(i * RowStride) + (j * ColStride)];
    }

    /// <summary>Pointer to element (i, j).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Ptr(int i, int j) => Data + (i * RowStride) + (j * ColStride);

    /// <summary>The transposed view (same memory).</summary>
    public StridedMatrix<T> Transposed => new(Data, Cols, Rows, ColStride, RowStride);

    /// <summary>The view transposed when <paramref name="transpose"/> is true.</summary>
    public StridedMatrix<T> Op(bool transpose) => transpose ? Transposed : this;

    /// <summary>The sub-matrix of <paramref name="rows"/> × <paramref name="cols"/> starting at (i, j).</summary>
    public StridedMatrix<T> Slice(int i, int j, int rows, int cols) => new(Ptr(i, j), rows, cols, RowStride, ColStride);

    /// <summary>A dense row-major matrix over <paramref name="data"/> with the given stride.</summary>
    public static StridedMatrix<T> RowMajor(T* data, int rows, int cols, nint stride) => new(data, rows, cols, stride, 1);
}
