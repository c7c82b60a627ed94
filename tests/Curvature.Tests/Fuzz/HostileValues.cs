using System.Numerics;

namespace Curvature.Tests.Fuzz;

/// <summary>Value distributions a hostile caller would use: ordinary, tiny, huge, non-finite, exact zeros.</summary>
public enum ValueKind
{
    /// <summary>Uniform in [−1, 1].</summary>
    Normal,

    /// <summary>Symmetric positive definite (for factorisations): X·Xᵀ/n + I.</summary>
    PositiveDefinite,

    /// <summary>Magnitudes near the smallest normal numbers.</summary>
    Tiny,

    /// <summary>Magnitudes near the overflow threshold.</summary>
    Huge,

    /// <summary>Ordinary values with some NaN and ±∞.</summary>
    NonFinite,

    /// <summary>All zeros.</summary>
    Zeros,

    /// <summary>A mix of tiny, huge and ordinary entries in one matrix (∞·0 inside factorisations).</summary>
    Mixed,
}

/// <summary>Draws values of a <see cref="ValueKind"/> for float or double.</summary>
public static class HostileValues
{
    public static T Next<T>(Random rng, ValueKind kind)
        where T : IFloatingPointIeee754<T>
    {
        bool isDouble = typeof(T) == typeof(double);
        double sign = rng.Next(2) == 0 ? -1 : 1;
        double v = kind switch
        {
            ValueKind.Normal or ValueKind.PositiveDefinite => (rng.NextDouble() * 2) - 1,
            ValueKind.Tiny => sign * Math.Pow(10, isDouble ? -300 - rng.Next(8) : -36 - rng.Next(8)) * rng.NextDouble(),
            ValueKind.Huge => sign * Math.Pow(10, isDouble ? 150 + rng.Next(158) : 15 + rng.Next(23)) * (1 + rng.NextDouble()),
            ValueKind.NonFinite => rng.Next(6) switch
            {
                0 => double.NaN,
                1 => double.PositiveInfinity,
                2 => double.NegativeInfinity,
                _ => (rng.NextDouble() * 2) - 1,
            },
            ValueKind.Zeros => 0,
            _ => rng.Next(4) switch
            {
                0 => Next<T>(rng, ValueKind.Tiny) is T t ? double.CreateTruncating(t) : 0,
                1 => Next<T>(rng, ValueKind.Huge) is T h ? double.CreateTruncating(h) : 0,
                2 => 0,
                _ => (rng.NextDouble() * 2) - 1,
            },
        };
        return T.CreateTruncating(v);
    }

    /// <summary>True when every value is finite.</summary>
    public static bool AllFinite<T>(ReadOnlySpan<T> values)
        where T : IFloatingPointIeee754<T>
    {
        foreach (T v in values)
        {
            if (!T.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }
}
