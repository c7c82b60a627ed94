namespace Curvature.Demo.Data.Idx;

/// <summary>
/// Grey-scale images with class labels, in memory: pixels <c>[Count, Rows · Columns]</c> row-major as
/// <see cref="float"/> in [0, 1] (byte value / 255), labels <c>[Count]</c> in [0, <see cref="ClassCount"/>).
/// </summary>
public sealed class LabeledImages
{
    internal LabeledImages(float[] pixels, int[] labels, int rows, int columns, int classCount)
    {
        Pixels = pixels;
        Labels = labels;
        Rows = rows;
        Columns = columns;
        ClassCount = classCount;
    }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Image height in pixels.</summary>
    public int Rows { get; }

    /// <summary>Image width in pixels.</summary>
    public int Columns { get; }

    /// <summary>Pixels per image (<see cref="Rows"/> · <see cref="Columns"/>).</summary>
    public int PixelsPerImage => Rows * Columns;

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }

    /// <summary>All pixels, image after image, each image row-major; values in [0, 1].</summary>
    public float[] Pixels { get; }

    /// <summary>The class of each image.</summary>
    public int[] Labels { get; }

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }
}
