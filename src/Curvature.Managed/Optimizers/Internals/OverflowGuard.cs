using System.Numerics;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// Rejects observations whose statistics could overflow the element type before anything is computed (so a rejected
/// observation changes nothing): a second moment of values bounded by <c>m</c>, averaged with total weight <c>w</c>, is
/// bounded by <c>w·m²</c>.
/// </summary>
internal static class OverflowGuard
{
    /// <summary>The largest |value|, in double.</summary>
    public static double MaxAbs<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double max = 0;
        foreach (T v in values)
        {
            double a = Math.Abs(double.CreateTruncating(v));
            if (a > max)
            {
                max = a;
            }
        }

        return max;
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <c>weight·maxAbs²</c> is not safely below the largest
    /// <typeparamref name="T"/> (a quarter of it, leaving room for running sums).</summary>
    public static void EnsureSecondMomentFits<T>(double maxAbs, double weight, string layer, string what, string parameter)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double limit = (typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue) / 4;
        double bound = weight * maxAbs * maxAbs;
        if (!(bound < limit))
        {
            throw new ArgumentException(
                $"The {what} of layer '{layer}' are too large for {typeof(T).Name} curvature statistics (largest magnitude {maxAbs:g3}; the second moments could overflow). Scale the inputs or the loss.",
                parameter);
        }
    }
}
