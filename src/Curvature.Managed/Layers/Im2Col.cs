using System.Numerics;
using CommunityToolkit.HighPerformance;

namespace Curvature.Layers;

/// <summary>
/// Patch extraction for convolutions in the order of <c>torch.nn.functional.unfold</c>: for output position
/// <c>l = oh·OW + ow</c> and feature <c>f = (c·kh + i)·kw + j</c> the value is
/// <c>a_pad[c, oh·sh + i·dh, ow·sw + j·dw]</c> of the zero-padded image (curvlinops' weight-sharing format). For a grouped
/// convolution the features run over the <c>C_in/groups</c> channels of one group and each value is the mean over the
/// groups of the corresponding patch entries (curvlinops averages patches over channel groups).
/// </summary>
public static class Im2Col
{
    /// <summary>Unfolds one image <c>[C_in, H, W]</c> (contiguous, row-major) into <c>destination[OH·OW, (C_in/groups)·kh·kw]</c>.</summary>
    /// <param name="image">The image, <c>C_in·H·W</c> values.</param>
    /// <param name="height">Image height H.</param>
    /// <param name="width">Image width W.</param>
    /// <param name="geometry">The convolution.</param>
    /// <param name="destination">Patches, one row per output position.</param>
    /// <exception cref="ArgumentException">Sizes do not match, or the kernel does not fit the padded image.</exception>
    public static void Unfold<T>(ReadOnlySpan<T> image, int height, int width, Conv2dGeometry geometry, Span2D<T> destination)
        where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(geometry);

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

        int groups = geometry.Groups, groupChannels = channels / groups;
        int features = groupChannels * kh * kw;
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
                for (int group = 0; group < groups; group++)
                {
                    int f = 0;
                    for (int c = 0; c < groupChannels; c++)
                    {
                        ReadOnlySpan<T> plane = image.Slice(((group * groupChannels) + c) * height * width, height * width);
                        for (int i = 0; i < kh; i++)
                        {
                            int r = (y * sh) + (i * dh) - ph;
                            bool rowInside = (uint)r < (uint)height;
                            for (int j = 0; j < kw; j++, f++)
                            {
                                int col = (x * sw) + (j * dw) - pw;
                                T value = rowInside && (uint)col < (uint)width ? plane[(r * width) + col] : T.Zero;
                                row[f] = group == 0 ? value : row[f] + value;
                            }
                        }
                    }
                }

                if (groups > 1)
                {
                    T inverse = T.One / T.CreateChecked(groups);
                    foreach (ref T v in row)
                    {
                        v *= inverse;
                    }
                }
            }
        }
    }
}
