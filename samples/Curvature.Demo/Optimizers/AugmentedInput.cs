using CommunityToolkit.HighPerformance;

namespace Curvature.Demo.Optimizers;

/// <summary>Writes <c>[a | 1]</c> into a buffer: the bias as the constant last input feature.</summary>
internal static class AugmentedInput
{
    public static ReadOnlySpan2D<double> Fill(ReadOnlySpan2D<double> input, double[] buffer)
    {
        int rows = input.Height, width = input.Width + 1;
        var augmented = new Span2D<double>(buffer, 0, rows, width, 0);
        for (int r = 0; r < rows; r++)
        {
            var row = augmented.GetRowSpan(r);
            input.GetRowSpan(r).CopyTo(row);
            row[width - 1] = 1.0;
        }

        return augmented;
    }
}
