using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Curvature.Internals;

/// <summary>
/// Shape, stride, overlap and element-type checks shared by every backend. They run before dispatch so that
/// all backends reject exactly the same inputs, and nothing reaches native code that could read or write out of
/// bounds.
/// </summary>
internal static class KernelValidation
{
    /// <summary>Throws unless <typeparamref name="T"/> is <see cref="float"/> or <see cref="double"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnsureSupportedType<T>()
    {
        if (typeof(T) != typeof(double) && typeof(T) != typeof(float))
        {
            ThrowUnsupportedType(typeof(T));
        }
    }

    /// <summary>
    /// False for an empty view that reports 0 × 0: CommunityToolkit reports some empty views (for example
    /// <c>n × 0</c> views over an empty span) as 0 × 0 (CommunityToolkit/dotnet#1101), so such a view's shape is not known.
    /// Every other view, empty or not, reports its true shape.
    /// </summary>
    public static bool HasKnownShape<T>(in MatrixRef<T> m) => m.Rows != 0 || m.Cols != 0;

    /// <summary>
    /// Checks that <paramref name="m"/> has the expected shape. A view reporting 0 × 0 (whose shape is not known, see
    /// <see cref="HasKnownShape{T}"/>) matches every expected shape without elements; every other view must match exactly.
    /// </summary>
    public static void EnsureShape<T>(in MatrixRef<T> m, int rows, int cols, string paramName, string what)
    {
        if (!HasKnownShape(m))
        {
            if ((long)rows * cols != 0)
            {
                ThrowShape(paramName, what, rows, cols, m.Rows, m.Cols);
            }

            return;
        }

        if (m.Rows != rows || m.Cols != cols)
        {
            ThrowShape(paramName, what, rows, cols, m.Rows, m.Cols);
        }
    }

    /// <summary>Checks that a square matrix operand is square.</summary>
    public static void EnsureSquare<T>(in MatrixRef<T> m, string paramName)
    {
        if (m.Rows != m.Cols && !m.IsEmpty)
        {
            throw new ArgumentException($"The matrix must be square, but it is {m.Rows} × {m.Cols}.", paramName);
        }
    }

    /// <summary>Checks the stride is at least the width (a view cannot have overlapping rows).</summary>
    public static void EnsureStride<T>(in MatrixRef<T> m, string paramName)
    {
        if (!m.IsEmpty && (m.Stride < Math.Max(1, m.Cols)))
        {
            throw new ArgumentException($"The row stride ({m.Stride}) is smaller than the row length ({m.Cols}).", paramName);
        }
    }

    /// <summary>Throws when the memory spanned by <paramref name="output"/> overlaps that of <paramref name="input"/>.</summary>
    public static void EnsureNoOverlap<T>(in MatrixRef<T> output, in MatrixRef<T> input, string outputName, string inputName)
    {
        if (output.IsEmpty || input.IsEmpty)
        {
            return;
        }

        nint outBytes = Extent(output) * Unsafe.SizeOf<T>();
        nint inBytes = Extent(input) * Unsafe.SizeOf<T>();
        nint offset = Unsafe.ByteOffset(ref output.Origin, ref input.Origin); // input - output
        bool overlaps = offset >= 0 ? offset < outBytes : -offset < inBytes;
        if (overlaps)
        {
            throw new ArgumentException($"'{outputName}' overlaps '{inputName}'; the output must not share memory with an input.", outputName);
        }
    }

    /// <summary>Throws when a vector overlaps a matrix.</summary>
    public static void EnsureNoOverlap<T>(Span<T> vector, in MatrixRef<T> matrix, string vectorName, string matrixName)
    {
        if (vector.IsEmpty || matrix.IsEmpty)
        {
            return;
        }

        nint vBytes = (nint)vector.Length * Unsafe.SizeOf<T>();
        nint mBytes = Extent(matrix) * Unsafe.SizeOf<T>();
        nint offset = Unsafe.ByteOffset(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(vector), ref matrix.Origin);
        bool overlaps = offset >= 0 ? offset < vBytes : -offset < mBytes;
        if (overlaps)
        {
            throw new ArgumentException($"'{vectorName}' overlaps '{matrixName}'.", vectorName);
        }
    }

    /// <summary>Checks that a scalar argument (a kernel's α or β) is finite: BLAS implementations disagree on how NaN
    /// and infinite scales propagate (some skip the product or the old C when a scale is NaN).</summary>
    public static void EnsureFinite<T>(T value, string paramName)
        where T : IFloatingPointIeee754<T>
    {
        if (!T.IsFinite(value))
        {
            throw new ArgumentException($"'{paramName}' must be finite, but it is {value}.", paramName);
        }
    }

    private static nint Extent<T>(in MatrixRef<T> m) => (nint)(m.Rows - 1) * m.Stride + m.Cols;

    [DoesNotReturn]
    private static void ThrowShape(string paramName, string what, int rows, int cols, int actualRows, int actualCols) =>
        throw new ArgumentException($"{what} must be {rows} × {cols}, but it is {actualRows} × {actualCols}.", paramName);

    [DoesNotReturn]
    private static void ThrowUnsupportedType(Type t) =>
        throw new NotSupportedException($"Curvature's kernels support float and double only, not {t.Name}.");
}
