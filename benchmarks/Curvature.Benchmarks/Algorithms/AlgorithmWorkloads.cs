using System.Numerics;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Layers;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// The layers and seeded data shared by the algorithm benchmarks: the representative Conv2d layer of the K-FAC issue
/// (16 → 32 channels, 3 × 3 kernel, padding 1, 16 × 16 images, batch 32) and the dense-layer sizes.
/// </summary>
internal static class AlgorithmWorkloads
{
    /// <summary>Images per Conv2d batch.</summary>
    public const int ConvBatch = 32;

    /// <summary>Image height and width.</summary>
    public const int ConvImageSize = 16;

    /// <summary>Examples per dense-layer batch (EKFAC issue: 256).</summary>
    public const int DenseBatch = 256;

    /// <summary>The dense-layer orders of the issues (in = out = n).</summary>
    public static readonly int[] DenseSizes = [256, 512, 1024];

    /// <summary>The Conv2d layer: 16 → 32 channels, 3 × 3, stride 1, padding 1 (output 16 × 16, patch length 144).</summary>
    public static Conv2dGeometry ConvGeometry { get; } = new(16, 32, 3, 3, paddingHeight: 1, paddingWidth: 1);

    /// <summary>Output positions per image (OH·OW = 256).</summary>
    public static int ConvPositions => ConvGeometry.OutputHeight(ConvImageSize) * ConvGeometry.OutputWidth(ConvImageSize);

    /// <summary>Input shape <c>[N, C_in, H, W]</c>.</summary>
    public static int[] ConvInputShape => [ConvBatch, ConvGeometry.InChannels, ConvImageSize, ConvImageSize];

    /// <summary>Output-gradient shape <c>[N, C_out, OH, OW]</c>.</summary>
    public static int[] ConvOutputShape => [ConvBatch, ConvGeometry.OutChannels, ConvImageSize, ConvImageSize];

    /// <summary>Output-gradient shape with one backpropagated vector, <c>[V = 1, N, C_out, OH, OW]</c> (K-FAC/EKFAC builders).</summary>
    public static int[] ConvGradientShape => [1, ConvBatch, ConvGeometry.OutChannels, ConvImageSize, ConvImageSize];

    /// <summary>The dense-layer sizes of this run: <c>--sizes</c> if given, else 256, 512, 1024.</summary>
    public static IEnumerable<int> DenseSizesOfRun() => BenchmarkSettings.SizesOverride ?? DenseSizes;

    /// <summary>Seeded Conv2d input images, <c>N·C_in·H·W</c> values in [-1, 1).</summary>
    public static T[] ConvInput<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        SeededData.Uniform<T>(ConvBatch * ConvGeometry.InChannels * ConvImageSize * ConvImageSize, SeededData.SeedFor(ConvImageSize, 20));

    /// <summary>Seeded Conv2d output gradients, <c>N·C_out·OH·OW</c> values in [-1, 1).</summary>
    public static T[] ConvOutputGradients<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        SeededData.Uniform<T>(ConvBatch * ConvGeometry.OutChannels * ConvPositions, SeededData.SeedFor(ConvImageSize, 21));

    /// <summary>
    /// Independent patch extraction in float64 (the oracle's own loops, not <see cref="Im2Col"/>): row <c>n·L + l</c>,
    /// column <c>(c·3 + i)·3 + j</c>, plus a ones column when <paramref name="appendOnes"/>.
    /// </summary>
    public static double[,] ConvPatches<T>(T[] input, bool appendOnes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = ConvGeometry;
        int h = ConvImageSize, w = ConvImageSize, c = g.InChannels, kh = g.KernelHeight, kw = g.KernelWidth;
        int d = c * kh * kw;
        var rows = new double[ConvBatch * ConvPositions, d + (appendOnes ? 1 : 0)];
        for (int n = 0; n < ConvBatch; n++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    int r = (n * ConvPositions) + (y * w) + x;
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
