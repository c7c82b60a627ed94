using System.Numerics;
using CommunityToolkit.HighPerformance;

namespace Curvature.Layers;

/// <summary>
/// Patch extraction for convolutions in the order of <c>torch.nn.functional.unfold</c>: for output position
/// <c>l = oh·OW + ow</c> and feature <c>f = (c·kh + i)·kw + j</c> the value is
/// <c>a_pad[c, oh·sh + i·dh, ow·sw + j·dw]</c> of the zero-padded image (curvlinops' weight-sharing format).
/// </summary>
public static class Im2Col
{
    /// <summary>Unfolds one image <c>[C_in, H, W]</c> (contiguous, row-major) into <c>destination[OH·OW, C_in·kh·kw]</c>.</summary>
    /// <param name="image">The image, <c>C_in·H·W</c> values.</param>
    /// <param name="height">Image height H.</param>
    /// <param name="width">Image width W.</param>
    /// <param name="geometry">The convolution; only <c>groups = 1</c> is supported here.</param>
    /// <param name="destination">Patches, one row per output position.</param>
    /// <exception cref="ArgumentException">Sizes do not match, or the kernel does not fit the padded image.</exception>
    /// <exception cref="NotSupportedException">The convolution is grouped.</exception>
    public static void Unfold<T>(ReadOnlySpan<T> image, int height, int width, Conv2dGeometry geometry, Span2D<T> destination)
        where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(geometry);
        if (geometry.Groups != 1)
        {
            throw new NotSupportedException($"Patch extraction for grouped convolutions (groups = {geometry.Groups}) is not supported.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        int channels = geometry.InChannels, kh = geometry.KernelHeight, kw = geometry.KernelWidth;
        if (image.Length != channels * height * width)
        {
            throw new ArgumentException($"The image must hold C_in·H·W = {channels}·{height}·{width} values, but it holds {image.Length}.", nameof(image));
        }

        int oh = geometry.OutputHeight(height), ow = geometry.OutputWidth(width);
        if (oh < 1 || ow < 1)
        {
            throw new ArgumentException($"The kernel does not fit the padded {height} × {width} image.", nameof(geometry));
        }

        int features = channels * kh * kw;
        if (destination.Height != oh * ow || destination.Width != features)
        {
            throw new ArgumentException($"The destination must be {oh * ow} × {features}, but it is {destination.Height} × {destination.Width}.", nameof(destination));
        }

        int sh = geometry.StrideHeight, sw = geometry.StrideWidth, ph = geometry.PaddingHeight, pw = geometry.PaddingWidth;
        int dh = geometry.DilationHeight, dw = geometry.DilationWidth;
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                Span<T> row = destination.GetRowSpan((y * ow) + x);
                int f = 0;
                for (int c = 0; c < channels; c++)
                {
                    ReadOnlySpan<T> plane = image.Slice(c * height * width, height * width);
                    for (int i = 0; i < kh; i++)
                    {
                        int r = (y * sh) + (i * dh) - ph;
                        bool rowInside = (uint)r < (uint)height;
                        for (int j = 0; j < kw; j++)
                        {
                            int col = (x * sw) + (j * dw) - pw;
                            row[f++] = rowInside && (uint)col < (uint)width ? plane[(r * width) + col] : T.Zero;
                        }
                    }
                }
            }
        }
    }
}
