using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Layers;

namespace Curvature.AdaFisher.Internals;

/// <summary>
/// Raw per-layer statistics Ĥ (input side) and Ŝ (output-gradient side), as the official AdaFisher computes them
/// (<c>Compute_H_D</c> / <c>Compute_S_D</c> in AtlasAnalyticsLab/AdaFisher <c>optimizers/AdaFisher.py</c>), with the
/// principled variants documented on <see cref="AdaFisherMode.Principled"/>.
/// </summary>
internal static class AdaFisherStatistics
{
    /// <summary>Linear: <c>Ĥ_j = Σ_r h̄_rj² / R</c>, <c>Ŝ_i = Σ_r g_ri² / sDivisor · sScale</c>.</summary>
    public static void Linear<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> g, int rows, int inFeatures, int outFeatures, bool bias, T sDivisor, T sScale, Span<T> h, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        h.Clear();
        s.Clear();
        for (int r = 0; r < rows; r++)
        {
            var row = a.Slice(r * inFeatures, inFeatures);
            for (int j = 0; j < inFeatures; j++)
            {
                h[j] += row[j] * row[j];
            }

            var grow = g.Slice(r * outFeatures, outFeatures);
            for (int i = 0; i < outFeatures; i++)
            {
                s[i] += grow[i] * grow[i];
            }
        }

        T rowsT = T.CreateChecked(rows);
        for (int j = 0; j < inFeatures; j++)
        {
            h[j] /= rowsT;
        }

        if (bias)
        {
            h[inFeatures] = rowsT / rowsT;
        }

        for (int i = 0; i < outFeatures; i++)
        {
            s[i] = s[i] / sDivisor * sScale;
        }
    }

    /// <summary>
    /// Conv2d: patches of each image and channel group (torch <c>unfold</c> order) with <paramref name="patchGeometry"/>;
    /// <c>Ĥ_j = Σ_rows h̄_j² / hDivisor</c>; <c>Ŝ_c = Σ_{n,oh,ow} g² / sDivisor · sScale</c>.
    /// </summary>
    /// <returns>Nothing; <paramref name="patches"/> must hold L·d values of the patch geometry.</returns>
    public static void Conv2d<T>(
        ReadOnlySpan<T> a, ReadOnlySpan<T> g, int batch, int height, int width, Conv2dGeometry patchGeometry, int groups,
        int outChannels, int outLocations, bool bias, bool officialDivisor, T sDivisor, T sScale, Span<T> patches, Span<T> h, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        h.Clear();
        s.Clear();
        int groupChannels = patchGeometry.InChannels;
        int d = patchGeometry.PatchSize;
        int l = patchGeometry.OutputHeight(height) * patchGeometry.OutputWidth(width);
        var patchView = patches.Slice(0, l * d).AsSpan2D(l, d);
        int imageSize = groups * groupChannels * height * width;
        for (int n = 0; n < batch; n++)
        {
            var image = a.Slice(n * imageSize, imageSize);
            for (int gi = 0; gi < groups; gi++)
            {
                Im2Col.Unfold(image.Slice(gi * groupChannels * height * width, groupChannels * height * width), height, width, patchGeometry, patchView);
                for (int r = 0; r < l; r++)
                {
                    var row = patchView.GetRowSpan(r);
                    for (int j = 0; j < d; j++)
                    {
                        h[j] += row[j] * row[j];
                    }
                }
            }
        }

        // Official: divide by batch·spatial with spatial = L·d (h.size(2)·h.size(3) of a [N, groups, L, d] tensor).
        // Principled: the mean over all N·groups·L patch rows.
        long rows = (long)batch * groups * l;
        T hDivisor = officialDivisor ? T.CreateChecked((long)batch * l * d) : T.CreateChecked(rows);
        for (int j = 0; j < d; j++)
        {
            h[j] /= hDivisor;
        }

        if (bias)
        {
            h[d] = T.CreateChecked(rows) / hDivisor;
        }

        for (int n = 0; n < batch; n++)
        {
            for (int c = 0; c < outChannels; c++)
            {
                var plane = g.Slice(((n * outChannels) + c) * outLocations, outLocations);
                T acc = s[c];
                for (int p = 0; p < outLocations; p++)
                {
                    acc += plane[p] * plane[p];
                }

                s[c] = acc;
            }
        }

        for (int c = 0; c < outChannels; c++)
        {
            s[c] = s[c] / sDivisor * sScale;
        }
    }

    /// <summary>BatchNorm2d: <c>u_c = Σ_{n,x,y} h / (HW)²</c>, <c>Ĥ = (Σ_c u_c², C) / N²</c>, <c>Ŝ_c = (Σ_{n,x,y} g)² / N · sScale</c>.</summary>
    public static void BatchNorm2d<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> g, int batch, int channels, int spatial, T sScale, Span<T> h, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T spatialSquared = T.CreateChecked((long)spatial * spatial);
        T sumU2 = T.Zero;
        for (int c = 0; c < channels; c++)
        {
            T sumA = T.Zero, sumG = T.Zero;
            for (int n = 0; n < batch; n++)
            {
                int offset = ((n * channels) + c) * spatial;
                for (int p = 0; p < spatial; p++)
                {
                    sumA += a[offset + p];
                    sumG += g[offset + p];
                }
            }

            T u = sumA / spatialSquared;
            sumU2 += u * u;
            s[c] = sumG * sumG / T.CreateChecked(batch) * sScale;
        }

        T batchSquared = T.CreateChecked((long)batch * batch);
        h[0] = sumU2 / batchSquared;
        h[1] = T.CreateChecked(channels) / batchSquared;
    }

    /// <summary>
    /// LayerNorm over the last axis of <c>[B, T, rest...]</c>: <c>u_t = Σ_{b,rest} h / (Π rest)²</c>,
    /// <c>Ĥ = (Σ_t u_t², T) / B²</c>, <c>Ŝ_d = (Σ_{all axes but the last} g)_d² / B · sScale</c>.
    /// </summary>
    public static void LayerNorm<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> g, int batch, int axis1, int rest, int features, T sScale, Span<T> h, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T restSquared = T.CreateChecked((long)rest * rest);
        T sumU2 = T.Zero;
        for (int t = 0; t < axis1; t++)
        {
            T sum = T.Zero;
            for (int b = 0; b < batch; b++)
            {
                var chunk = a.Slice(((b * axis1) + t) * rest, rest);
                for (int k = 0; k < rest; k++)
                {
                    sum += chunk[k];
                }
            }

            T u = sum / restSquared;
            sumU2 += u * u;
        }

        T batchSquared = T.CreateChecked((long)batch * batch);
        h[0] = sumU2 / batchSquared;
        h[1] = T.CreateChecked(axis1) / batchSquared;

        s.Clear();
        int rows = g.Length / features;
        for (int r = 0; r < rows; r++)
        {
            var row = g.Slice(r * features, features);
            for (int k = 0; k < features; k++)
            {
                s[k] += row[k];
            }
        }

        T batchT = T.CreateChecked(batch);
        for (int k = 0; k < features; k++)
        {
            s[k] = s[k] * s[k] / batchT * sScale;
        }
    }

    /// <summary>The official <c>MinMaxNormalization</c>: <c>+∞ → 1</c>, <c>−∞ → 0</c>, then <c>(x − min) / (max − min + 1e-6)</c>, in place.</summary>
    public static void MinMaxNormalize<T>(Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (T.IsPositiveInfinity(x[i]))
            {
                x[i] = T.One;
            }
            else if (T.IsNegativeInfinity(x[i]))
            {
                x[i] = T.Zero;
            }
        }

        T min = x[0], max = x[0];
        for (int i = 1; i < x.Length; i++)
        {
            min = T.Min(min, x[i]);
            max = T.Max(max, x[i]);
        }

        T denominator = max - min + T.CreateChecked(1e-6);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (x[i] + (-min)) / denominator;
        }
    }
}
