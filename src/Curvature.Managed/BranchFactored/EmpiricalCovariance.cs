using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.BranchFactored.Internals;

namespace Curvature.BranchFactored;

/// <summary>
/// The unbiased empirical covariance of samples:
/// <c>C = (X − 1·x̄ᵀ)ᵀ (X − 1·x̄ᵀ) / max(1, N − 1)</c> for <c>N × D</c> samples <c>X</c> (one sample per row),
/// <c>x̄</c> the column means.
/// </summary>
/// <remarks>The centred samples go through BLAS <c>?SYRK</c> (<see cref="CurvatureBackend.SymmetricRankKUpdate{T}"/>, lower
/// triangle), which is then mirrored so both triangles are written. With one sample the covariance is zero.</remarks>
public static class EmpiricalCovariance
{
    /// <summary>Computes the covariance of <paramref name="samples"/> into <paramref name="destination"/> (both triangles).</summary>
    /// <param name="backend">The backend running the SYRK.</param>
    /// <param name="samples">Samples, <c>N × D</c> (N ≥ 1), finite.</param>
    /// <param name="centered">Scratch of the same shape as <paramref name="samples"/>; receives the centred samples. Must not overlap the others.</param>
    /// <param name="destination"><c>D × D</c> destination.</param>
    /// <exception cref="ArgumentException">No samples, mismatched shapes, or a NaN/infinite sample.</exception>
    public static void Compute<T>(CurvatureBackend backend, ReadOnlySpan2D<T> samples, Span2D<T> centered, Span2D<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(backend);
        Validate(samples, nameof(samples));
        if (centered.Height != samples.Height || centered.Width != samples.Width)
        {
            throw new ArgumentException($"The scratch must be {samples.Height} × {samples.Width}, but it is {centered.Height} × {centered.Width}.", nameof(centered));
        }

        int d = samples.Width;
        if (destination.Height != d || destination.Width != d)
        {
            throw new ArgumentException($"The destination must be {d} × {d}, but it is {destination.Height} × {destination.Width}.", nameof(destination));
        }

        ComputeLower(backend, samples, centered, destination);
        DenseMatrix.MirrorLowerToUpper(destination);
    }

    /// <summary>Computes the covariance of <paramref name="samples"/> (<c>N × D</c>) into a new <c>D × D</c> array (allocates).</summary>
    /// <exception cref="ArgumentException">No samples, or a NaN/infinite sample.</exception>
    public static T[,] Compute<T>(CurvatureBackend backend, ReadOnlySpan2D<T> samples)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(backend);
        Validate(samples, nameof(samples));
        var result = new T[samples.Width, samples.Width];
        var scratch = new T[samples.Height, samples.Width];
        Compute(backend, samples, scratch, result);
        return result;
    }

    /// <summary>Validated core: lower triangle of the covariance only (the upper one is overwritten by scratch sums in row 0 when D ≥ 1).</summary>
    internal static void ComputeLower<T>(CurvatureBackend backend, ReadOnlySpan2D<T> samples, Span2D<T> centered, Span2D<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = samples.Height, d = samples.Width;
        if (d == 0)
        {
            return;
        }

        // Column means, accumulated in row 0 of the destination (overwritten by the SYRK below).
        Span<T> mean = destination.GetRowSpan(0);
        mean.Clear();
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = samples.GetRowSpan(i);
            for (int j = 0; j < d; j++)
            {
                mean[j] += row[j];
            }
        }

        T invN = T.One / T.CreateTruncating(n);
        for (int j = 0; j < d; j++)
        {
            mean[j] *= invN;
        }

        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = samples.GetRowSpan(i);
            Span<T> c = centered.GetRowSpan(i);
            for (int j = 0; j < d; j++)
            {
                c[j] = row[j] - mean[j];
            }
        }

        T scale = T.One / T.CreateTruncating(Math.Max(1, n - 1));
        backend.SymmetricRankKUpdate((ReadOnlySpan2D<T>)centered, RankKForm.TransposeTimesMatrix, destination, Triangle.Lower, scale, T.Zero);
    }

    internal static void Validate<T>(ReadOnlySpan2D<T> samples, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (samples.Height == 0)
        {
            throw new ArgumentException("The covariance needs at least one sample (row).", paramName);
        }

        for (int i = 0; i < samples.Height; i++)
        {
            ReadOnlySpan<T> row = samples.GetRowSpan(i);
            for (int j = 0; j < row.Length; j++)
            {
                if (!T.IsFinite(row[j]))
                {
                    throw new ArgumentException($"Sample ({i}, {j}) is {row[j]}: samples must be finite.", paramName);
                }
            }
        }
    }
}
