using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;

namespace Curvature.Internals;

/// <summary>
/// A validated row-major matrix operand: a reference to element (0, 0), the shape and the row stride
/// (BLAS's leading dimension, in elements). This is what backends receive after shared validation.
/// </summary>
internal readonly ref struct MatrixRef<T>
{
    /// <summary>Reference to element (0, 0); undefined (possibly a null ref) when the matrix is empty.</summary>
    public readonly ref T Origin;

    /// <summary>Number of rows.</summary>
    public readonly int Rows;

    /// <summary>Number of columns.</summary>
    public readonly int Cols;

    /// <summary>Distance between the starts of consecutive rows, in elements (≥ max(1, Cols)).</summary>
    public readonly int Stride;

    public MatrixRef(ref T origin, int rows, int cols, int stride)
    {
        Origin = ref origin;
        Rows = rows;
        Cols = cols;
        Stride = stride;
    }

    /// <summary>True when the matrix has no elements.</summary>
    public bool IsEmpty => Rows == 0 || Cols == 0;

    /// <summary>Reference to element (i, j) (no bounds check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T At(int i, int j) => ref Unsafe.Add(ref Origin, (nint)i * Stride + j);

    /// <summary>Row <paramref name="i"/> as a span of <see cref="Cols"/> elements.</summary>
    public Span<T> Row(int i) => System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref At(i, 0), Cols);

    /// <summary>Reinterprets the element type (used after a <c>typeof(T) == typeof(TTo)</c> check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MatrixRef<TTo> As<TTo>() => new(ref Unsafe.As<T, TTo>(ref Origin), Rows, Cols, Stride);

    public static MatrixRef<T> From(Span2D<T> span) =>
        new(ref span.DangerousGetReference(), span.Height, span.Width, Span2DLayout.Stride(span));

    public static MatrixRef<T> From(ReadOnlySpan2D<T> span) =>
        new(ref Unsafe.AsRef(in span.DangerousGetReference()), span.Height, span.Width, Span2DLayout.Stride(span));
}
