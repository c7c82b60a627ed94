using CommunityToolkit.HighPerformance;

namespace Curvature.BranchFactored.Internals;

/// <summary>Small helpers on row-major square views.</summary>
internal static class DenseMatrix
{
    /// <summary>Copies the strict lower triangle into the upper one.</summary>
    public static void MirrorLowerToUpper<T>(Span2D<T> a)
    {
        for (int i = 0; i < a.Height; i++)
        {
            for (int j = 0; j < i; j++)
            {
                a[j, i] = a[i, j];
            }
        }
    }
}
