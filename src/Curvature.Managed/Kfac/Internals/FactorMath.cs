using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;

namespace Curvature.Kfac.Internals;

/// <summary>Small dense helpers on square row-major factors.</summary>
internal static class FactorMath
{
    /// <summary>C ← C + scale·XᵀX (SYRK β = 1, lower), then the lower triangle is mirrored.</summary>
    public static void AccumulateGram<T>(CurvatureBackend backend, ReadOnlySpan2D<T> rows, Span2D<T> c, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows.Height == 0 || c.Width == 0)
        {
            return;
        }

        backend.SymmetricRankKUpdate(rows, RankKForm.TransposeTimesMatrix, c, Triangle.Lower, scale, T.One);
        MirrorLower(c);
    }

    public static void MirrorLower<T>(Span2D<T> c)
    {
        int n = c.Height;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < i; j++)
            {
                c[j, i] = c[i, j];
            }
        }
    }

    public static T Trace<T>(ReadOnlySpan<T> square, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T t = T.Zero;
        for (int i = 0; i < n; i++)
        {
            t += square[(i * n) + i];
        }

        return t;
    }

    public static T SumOfSquares<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T s = T.Zero;
        foreach (T v in values)
        {
            s += v * v;
        }

        return s;
    }

    public static bool AllFinite<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (T v in values)
        {
            if (!T.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    public static bool AllFinite<T>(ReadOnlySpan2D<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < values.Height; r++)
        {
            if (!AllFinite(values.GetRowSpan(r)))
            {
                return false;
            }
        }

        return true;
    }
}
