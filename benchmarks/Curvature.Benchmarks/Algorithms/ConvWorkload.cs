using System.Numerics;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Layers;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>A Conv2d layer (3 × 3 kernel, stride 1, padding 1, so OH = H) with a batch of seeded images and output gradients.</summary>
internal sealed class ConvWorkload
{
    /// <summary>Creates the workload.</summary>
    public ConvWorkload(string name, int inChannels, int outChannels, int imageSize, int batch)
    {
        Name = name;
        Geometry = new Conv2dGeometry(inChannels, outChannels, 3, 3, paddingHeight: 1, paddingWidth: 1);
        ImageSize = imageSize;
        Batch = batch;
    }

    /// <summary>Short name used in benchmark parameters.</summary>
    public string Name { get; }

    /// <summary>The layer geometry.</summary>
    public Conv2dGeometry Geometry { get; }

    /// <summary>Image height and width.</summary>
    public int ImageSize { get; }

    /// <summary>Images per batch.</summary>
    public int Batch { get; }

    /// <summary>Output positions per image (OH·OW).</summary>
    public int Positions => Geometry.OutputHeight(ImageSize) * Geometry.OutputWidth(ImageSize);

    /// <summary>Input shape <c>[N, C_in, H, W]</c>.</summary>
    public int[] InputShape => [Batch, Geometry.InChannels, ImageSize, ImageSize];

    /// <summary>Output-gradient shape <c>[N, C_out, OH, OW]</c>.</summary>
    public int[] OutputShape => [Batch, Geometry.OutChannels, ImageSize, ImageSize];

    /// <summary>Output-gradient shape with one backpropagated vector, <c>[V = 1, N, C_out, OH, OW]</c> (K-FAC/EKFAC builders).</summary>
    public int[] GradientShape => [1, Batch, Geometry.OutChannels, ImageSize, ImageSize];

    /// <summary>Seeded input images, <c>N·C_in·H·W</c> values in [-1, 1).</summary>
    public T[] Input<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        SeededData.Uniform<T>(Batch * Geometry.InChannels * ImageSize * ImageSize, SeededData.SeedFor(ImageSize * Geometry.InChannels, 20));

    /// <summary>Seeded output gradients, <c>N·C_out·OH·OW</c> values in [-1, 1).</summary>
    public T[] OutputGradients<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        SeededData.Uniform<T>(Batch * Geometry.OutChannels * Positions, SeededData.SeedFor(ImageSize * Geometry.OutChannels, 21));

    /// <summary>
    /// Independent patch extraction in float64 (the oracle's own loops, not <see cref="Im2Col"/>): row <c>n·L + l</c>,
    /// column <c>(c·3 + i)·3 + j</c>, plus a ones column when <paramref name="appendOnes"/>.
    /// </summary>
    public double[,] Patches<T>(T[] input, bool appendOnes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = Geometry;
        int h = ImageSize, w = ImageSize, c = g.InChannels, kh = g.KernelHeight, kw = g.KernelWidth;
        int d = c * kh * kw;
        var rows = new double[Batch * Positions, d + (appendOnes ? 1 : 0)];
        for (int n = 0; n < Batch; n++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    int r = (n * Positions) + (y * w) + x;
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int i = 0; i < kh; i++)
                        {
                            for (int j = 0; j < kw; j++)
                            {
                                int yy = y + i - g.PaddingHeight, xx = x + j - g.PaddingWidth;
                                rows[r, (((ch * kh) + i) * kw) + j] = yy >= 0 && yy < h && xx >= 0 && xx < w
                                    ? double.CreateChecked(input[(((n * c) + ch) * h * w) + (yy * w) + xx])
                                    : 0;
                            }
                        }
                    }

                    if (appendOnes)
                    {
                        rows[r, d] = 1;
                    }
                }
            }
        }

        return rows;
    }
}
