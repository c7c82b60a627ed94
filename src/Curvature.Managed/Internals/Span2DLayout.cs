using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;

namespace Curvature.Internals;

/// <summary>
/// Recovers the row stride (BLAS <c>lda</c> = width + pitch) of CommunityToolkit 2-D views, which the toolkit
/// keeps internal (an open CommunityToolkit request). The stride is the element distance between rows 0 and 1;
/// for views with fewer than two rows it is <c>max(1, Width)</c>.
/// </summary>
internal static class Span2DLayout
{
    public static int Stride<T>(Span2D<T> span) => Stride((ReadOnlySpan2D<T>)span);

    public static int Stride<T>(ReadOnlySpan2D<T> span)
    {
        if (span.Height < 2 || span.Width == 0)
        {
            return Math.Max(1, span.Width);
        }

        ref T row0 = ref Unsafe.AsRef(in span.DangerousGetReferenceAt(0, 0));
        ref T row1 = ref Unsafe.AsRef(in span.DangerousGetReferenceAt(1, 0));
        nint bytes = Unsafe.ByteOffset(ref row0, ref row1);
        return checked((int)(bytes / Unsafe.SizeOf<T>()));
    }
}
