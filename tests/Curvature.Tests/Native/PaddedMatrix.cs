using System.Numerics;
using CommunityToolkit.HighPerformance;
using Xunit;

namespace Curvature.Tests.Native;

/// <summary>
/// A row-major test matrix with <c>pitch</c> padding elements after every row, all initialised to NaN sentinels, so a
/// test can check that a kernel left padding (and, for symmetric routines, the other triangle) untouched.
/// </summary>
internal sealed class PaddedMatrix<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public PaddedMatrix(int rows, int cols, int pitch)
    {
        Rows = rows;
        Cols = cols;
        Pitch = pitch;
        Data = new T[Math.Max(1, rows * (cols + pitch))];
        Data.AsSpan().Fill(T.NaN);
    }

    public T[] Data { get; }

    public int Rows { get; }

    public int Cols { get; }

    public int Pitch { get; }

    public Span2D<T> Span => new(Data, 0, Rows, Cols, Pitch);

    public ReadOnlySpan2D<T> ReadOnly => new(Data, 0, Rows, Cols, Pitch);

    public ref T this[int i, int j] => ref Data[(i * (Cols + Pitch)) + j];

    public double At(int i, int j) => double.CreateTruncating(this[i, j]);

    public PaddedMatrix<T> Clone()
    {
        var copy = new PaddedMatrix<T>(Rows, Cols, Pitch);
        Data.CopyTo(copy.Data, 0);
        return copy;
    }

    /// <summary>Fills the whole logical matrix with uniform values in [-1, 1].</summary>
    public PaddedMatrix<T> FillRandom(Random rng)
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Cols; j++)
            {
                this[i, j] = T.CreateTruncating((rng.NextDouble() * 2) - 1);
            }
        }

        return this;
    }

    /// <summary>Writes a symmetric matrix into one triangle and NaN into the other.</summary>
    public PaddedMatrix<T> SetTriangle(double[,] symmetric, bool lower)
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Cols; j++)
            {
                bool inTriangle = lower ? j <= i : j >= i;
                this[i, j] = inTriangle ? T.CreateTruncating(symmetric[i, j]) : T.NaN;
            }
        }

        return this;
    }

    /// <summary>Asserts every padding element is still a NaN sentinel.</summary>
    public void AssertPaddingUntouched(string what)
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = Cols; j < Cols + Pitch; j++)
            {
                if (!T.IsNaN(Data[(i * (Cols + Pitch)) + j]))
                {
                    Assert.Fail($"{what}: padding ({i}, {j}) was written ({Data[(i * (Cols + Pitch)) + j]}).");
                }
            }
        }
    }

    /// <summary>Asserts the strict triangle opposite to <paramref name="lower"/> still holds NaN sentinels.</summary>
    public void AssertOtherTriangleUntouched(bool lower, string what)
    {
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Cols; j++)
            {
                bool other = lower ? j > i : j < i;
                if (other && !T.IsNaN(this[i, j]))
                {
                    Assert.Fail($"{what}: element ({i}, {j}) of the untouched triangle was written ({this[i, j]}).");
                }
            }
        }
    }
}
