using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Layers;

namespace Curvature.Kfac;

/// <summary>
/// Converts a layer's raw inputs <c>a</c> and output gradients <c>g</c> into curvlinops' weight-sharing format
/// (Eschenhagen et al. 2023): rows of input features <c>x[n, s]</c> (Conv2d: im2col patches in torch <c>unfold</c> order) and rows of
/// output gradients <c>g[v, n, s]</c>, with <see cref="WeightSharing.Expand"/> (keep positions) or
/// <see cref="WeightSharing.Reduce"/> (mean of inputs, sum of gradients over positions), and optionally the constant
/// feature 1 appended after the reduction (joint weight + bias blocks). EKFAC reuses these conversions.
/// </summary>
public static class KfacWeightSharing
{
    /// <summary>Validates raw shapes against the layer and returns the batch sizes.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="inputShape">Shape of <c>a</c>: Linear <c>[N, D_in]</c> or <c>[N, S…, D_in]</c>; Conv2d <c>[N, C_in, H, W]</c>.</param>
    /// <param name="gradientShape">Shape of <c>g</c>: <c>[V, N, S…, D_out]</c> or <c>[V, N, C_out, OH, OW]</c>; empty to skip.</param>
    /// <exception cref="ArgumentException">A shape does not fit the layer, or the batch is empty.</exception>
    public static KfacBatchShape Describe(LayerSpec layer, ReadOnlySpan<int> inputShape, ReadOnlySpan<int> gradientShape)
    {
        ArgumentNullException.ThrowIfNull(layer);
        foreach (int d in inputShape)
        {
            if (d < 0)
            {
                throw new ArgumentException("Shapes must not contain negative sizes.", nameof(inputShape));
            }
        }

        int n, s, h = 0, w = 0;
        if (layer.Kind == LayerKind.Linear)
        {
            if (inputShape.Length < 2 || inputShape[^1] != layer.WeightInputSize)
            {
                throw new ArgumentException($"Layer '{layer.Name}' expects inputs [N, (S…,) {layer.WeightInputSize}], but got [{string.Join(", ", inputShape.ToArray())}].", nameof(inputShape));
            }

            n = inputShape[0];
            s = 1;
            for (int i = 1; i < inputShape.Length - 1; i++)
            {
                s *= inputShape[i];
            }
        }
        else
        {
            var geo = layer.Geometry!;
            if (inputShape.Length != 4 || inputShape[1] != geo.InChannels)
            {
                throw new ArgumentException($"Conv2d layer '{layer.Name}' expects inputs [N, {geo.InChannels}, H, W], but got [{string.Join(", ", inputShape.ToArray())}].", nameof(inputShape));
            }

            n = inputShape[0];
            h = inputShape[2];
            w = inputShape[3];
            int oh = h < 1 ? 0 : geo.OutputHeight(h), ow = w < 1 ? 0 : geo.OutputWidth(w);
            if (oh < 1 || ow < 1)
            {
                throw new ArgumentException($"The kernel of layer '{layer.Name}' does not fit a {h} × {w} input.", nameof(inputShape));
            }

            s = oh * ow;
        }

        if (n < 1 || s < 1)
        {
            throw new ArgumentException($"The batch for layer '{layer.Name}' is empty.", nameof(inputShape));
        }

        int v = 0;
        if (!gradientShape.IsEmpty)
        {
            bool ok;
            if (layer.Kind == LayerKind.Linear)
            {
                ok = gradientShape.Length == inputShape.Length + 1 && gradientShape[^1] == layer.OutputSize;
                for (int i = 0; ok && i < inputShape.Length - 1; i++)
                {
                    ok = gradientShape[i + 1] == inputShape[i];
                }
            }
            else
            {
                var geo = layer.Geometry!;
                ok = gradientShape.Length == 5 && gradientShape[1] == n && gradientShape[2] == layer.OutputSize
                    && gradientShape[3] == geo.OutputHeight(h) && gradientShape[4] == geo.OutputWidth(w);
            }

            if (!ok || gradientShape[0] < 1)
            {
                throw new ArgumentException($"The output gradients of layer '{layer.Name}' have shape [{string.Join(", ", gradientShape.ToArray())}], which does not match its input shape [{string.Join(", ", inputShape.ToArray())}] (expected [V ≥ 1, N, output positions…, {layer.OutputSize}] / [V, N, C_out, OH, OW]).", nameof(gradientShape));
            }

            v = gradientShape[0];
        }

        return new KfacBatchShape(n, s, v, h, w);
    }

    /// <summary>Rows of the formatted inputs: <c>N·S</c> (expand) or <c>N</c> (reduce).</summary>
    public static int InputRows(KfacBatchShape shape, WeightSharing approximation) =>
        approximation == WeightSharing.Expand ? shape.BatchSize * shape.SharedPositions : shape.BatchSize;

    /// <summary>Rows of the formatted gradients: <c>V·N·S</c> (expand) or <c>V·N</c> (reduce).</summary>
    public static int GradientRows(KfacBatchShape shape, WeightSharing approximation) => shape.Vectors * InputRows(shape, approximation);

    /// <summary>Writes the input features in weight-sharing format: row <c>n·S' + s</c> holds <c>x[n, s]</c> (then 1 when <paramref name="appendOnes"/>).</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="input">The raw input <c>a</c>, row-major.</param>
    /// <param name="shape">From <see cref="Describe"/>.</param>
    /// <param name="approximation">Expand or reduce.</param>
    /// <param name="appendOnes">Append the constant feature 1 (after the reduction).</param>
    /// <param name="destination"><see cref="InputRows"/> × <c>D_in (+1)</c>.</param>
    public static void FormatInputs<T>(LayerSpec layer, ReadOnlySpan<T> input, KfacBatchShape shape, WeightSharing approximation, bool appendOnes, Span2D<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        int n = shape.BatchSize, s = shape.SharedPositions, d = layer.WeightInputSize;
        int rows = InputRows(shape, approximation), cols = d + (appendOnes ? 1 : 0);
        if (destination.Height != rows || destination.Width != cols)
        {
            throw new ArgumentException($"The destination must be {rows} × {cols}, but it is {destination.Height} × {destination.Width}.", nameof(destination));
        }

        bool expand = approximation == WeightSharing.Expand;
        if (layer.Kind == LayerKind.Linear)
        {
            if (input.Length != n * s * d)
            {
                throw new ArgumentException($"The input must hold {n * s * d} values, but it holds {input.Length}.", nameof(input));
            }

            T invS = T.One / T.CreateChecked(s);
            for (int i = 0; i < n; i++)
            {
                if (expand)
                {
                    for (int p = 0; p < s; p++)
                    {
                        input.Slice(((i * s) + p) * d, d).CopyTo(destination.GetRowSpan((i * s) + p));
                    }
                }
                else
                {
                    Span<T> row = destination.GetRowSpan(i)[..d];
                    row.Clear();
                    for (int p = 0; p < s; p++)
                    {
                        ReadOnlySpan<T> src = input.Slice(((i * s) + p) * d, d);
                        for (int f = 0; f < d; f++)
                        {
                            row[f] += src[f];
                        }
                    }

                    for (int f = 0; f < d; f++)
                    {
                        row[f] *= invS;
                    }
                }
            }
        }
        else
        {
            var geo = layer.Geometry!;
            int image = geo.InChannels * shape.Height * shape.Width;
            if (input.Length != n * image)
            {
                throw new ArgumentException($"The input must hold {n * image} values, but it holds {input.Length}.", nameof(input));
            }

            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> img = input.Slice(i * image, image);
                if (expand)
                {
                    Im2Col.Unfold(img, shape.Height, shape.Width, geo, destination.Slice(i * s, 0, s, d));
                }
                else
                {
                    MeanPatch(img, shape.Height, shape.Width, geo, destination.GetRowSpan(i)[..d]);
                }
            }
        }

        if (appendOnes)
        {
            for (int r = 0; r < rows; r++)
            {
                destination[r, d] = T.One;
            }
        }
    }

    /// <summary>Writes the output gradients in weight-sharing format: row <c>(v·N + n)·S' + s</c> holds <c>g[v, n, s]</c>.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="gradients">The raw gradients <c>g</c>, row-major.</param>
    /// <param name="shape">From <see cref="Describe"/>.</param>
    /// <param name="approximation">Expand (keep positions) or reduce (sum over positions).</param>
    /// <param name="destination"><see cref="GradientRows"/> × <c>D_out</c>.</param>
    public static void FormatGradients<T>(LayerSpec layer, ReadOnlySpan<T> gradients, KfacBatchShape shape, WeightSharing approximation, Span2D<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        int vn = shape.Vectors * shape.BatchSize, s = shape.SharedPositions, dOut = layer.OutputSize;
        int rows = GradientRows(shape, approximation);
        if (destination.Height != rows || destination.Width != dOut)
        {
            throw new ArgumentException($"The destination must be {rows} × {dOut}, but it is {destination.Height} × {destination.Width}.", nameof(destination));
        }

        if (gradients.Length != vn * s * dOut)
        {
            throw new ArgumentException($"The gradients must hold {vn * s * dOut} values, but they hold {gradients.Length}.", nameof(gradients));
        }

        bool expand = approximation == WeightSharing.Expand;
        bool channelsFirst = layer.Kind == LayerKind.Conv2d;
        for (int i = 0; i < vn; i++)
        {
            ReadOnlySpan<T> src = gradients.Slice(i * s * dOut, s * dOut);
            if (expand)
            {
                for (int p = 0; p < s; p++)
                {
                    Span<T> row = destination.GetRowSpan((i * s) + p);
                    if (channelsFirst)
                    {
                        for (int c = 0; c < dOut; c++)
                        {
                            row[c] = src[(c * s) + p];
                        }
                    }
                    else
                    {
                        src.Slice(p * dOut, dOut).CopyTo(row);
                    }
                }
            }
            else
            {
                Span<T> row = destination.GetRowSpan(i);
                row.Clear();
                for (int p = 0; p < s; p++)
                {
                    for (int c = 0; c < dOut; c++)
                    {
                        row[c] += channelsFirst ? src[(c * s) + p] : src[(p * dOut) + c];
                    }
                }
            }
        }
    }

    /// <summary>The mean over output positions of the unfolded patches of one image (K-FAC-reduce for Conv2d).</summary>
    private static void MeanPatch<T>(ReadOnlySpan<T> image, int height, int width, Conv2dGeometry geo, Span<T> mean)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = geo.OutputHeight(height), ow = geo.OutputWidth(width);
        int kh = geo.KernelHeight, kw = geo.KernelWidth;
        int groups = geo.Groups, groupChannels = geo.InChannels / groups;
        mean.Clear();
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                for (int group = 0; group < groups; group++)
                {
                    int f = 0;
                    for (int c = 0; c < groupChannels; c++)
                    {
                        ReadOnlySpan<T> plane = image.Slice(((group * groupChannels) + c) * height * width, height * width);
                        for (int i = 0; i < kh; i++)
                        {
                            int r = (y * geo.StrideHeight) + (i * geo.DilationHeight) - geo.PaddingHeight;
                            bool inside = (uint)r < (uint)height;
                            for (int j = 0; j < kw; j++, f++)
                            {
                                int col = (x * geo.StrideWidth) + (j * geo.DilationWidth) - geo.PaddingWidth;
                                if (inside && (uint)col < (uint)width)
                                {
                                    mean[f] += plane[(r * width) + col];
                                }
                            }
                        }
                    }
                }
            }
        }

        T inv = T.One / T.CreateChecked(oh * ow * groups);
        for (int f = 0; f < mean.Length; f++)
        {
            mean[f] *= inv;
        }
    }
}
