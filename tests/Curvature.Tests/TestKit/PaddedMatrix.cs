using System.Numerics;
using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;

namespace Curvature.Tests.TestKit;

/// <summary>
/// A row-major test matrix with a row pitch (padding after each row). Every element, padding included, starts as a
/// NaN sentinel with a distinctive payload, so tests can verify bit for bit that a kernel left an element untouched.
/// </summary>
public sealed class PaddedMatrix<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public PaddedMatrix(int rows, int cols, int pitch)
    {
        Rows = rows;
        Cols = cols;
        Pitch = pitch;
        Data = new T[Math.Max(1, rows * (cols + pitch))];
        Array.Fill(Data, Sentinel);
    }

    public int Rows { get; }

    public int Cols { get; }

    public int Pitch { get; }

    public int Stride => Cols + Pitch;

    public T[] Data { get; }

    /// <summary>A quiet NaN with a payload no arithmetic produces.</summary>
    public static T Sentinel
    {
        get
        {
            if (typeof(T) == typeof(double))
            {
                double d = BitConverter.Int64BitsToDouble(0x7FF8_DEAD_BEEF_0001);
                return Unsafe.As<double, T>(ref d);
            }

            float f = BitConverter.Int32BitsToSingle(0x7FC0_BEEF);
            return Unsafe.As<float, T>(ref f);
        }
    }

    public Span2D<T> Span => new(Data, 0, Rows, Cols, Pitch);

    public ReadOnlySpan2D<T> ReadOnly => new(Data, 0, Rows, Cols, Pitch);

    public ref T this[int i, int j] => ref Data[(i * Stride) + j];

    public static bool IsSentinel(T value) =>
        typeof(T) == typeof(double)
            ? BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref value)) == 0x7FF8_DEAD_BEEF_0001
            : BitConverter.SingleToInt32Bits(Unsafe.As<T, float>(ref value)) == 0x7FC0_BEEF;

    /// <summary>Fills the logical elements with uniform values in [-1, 1).</summary>
    public PaddedMatrix<T> FillRandom(Random rng)
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Cols; j++)
            {
                this[i, j] = T.CreateChecked((rng.NextDouble() * 2) - 1);
            }
        }

        return this;
    }

    /// <summary>Sets the logical elements from a double matrix (rounded to T).</summary>
    public PaddedMatrix<T> Set(double[,] values, Func<int, int, bool>? where = null)
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Cols; j++)
            {
                if (where is null || where(i, j))
                {
                    this[i, j] = T.CreateChecked(values[i, j]);
                }
            }
        }

        return this;
    }

    public double[,] ToDouble()
    {
        var r = new double[Rows, Cols];
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Cols; j++)
            {
                r[i, j] = double.CreateChecked(this[i, j]);
            }
        }

        return r;
    }

    /// <summary>Returns a description of the first padding element that is not the sentinel, or null.</summary>
    public string? FindTouchedPadding()
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = Cols; j < Stride && (i * Stride) + j < Data.Length; j++)
            {
                if (!IsSentinel(Data[(i * Stride) + j]))
                {
                    return $"padding of row {i} at column {j} was written ({Data[(i * Stride) + j]})";
                }
            }
        }

        return null;
    }
}
