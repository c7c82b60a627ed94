using System.Numerics;

namespace Curvature.BranchFactored;

/// <summary>
/// A small, seeded, platform-independent generator of standard normal numbers: xoshiro256** (Blackman &amp; Vigna,
/// "Scrambled linear pseudorandom number generators", 2018) seeded through SplitMix64, uniforms from the top 53
/// bits, and Marsaglia's polar method for the normal pairs (the second value of a pair is kept for the next call).
/// </summary>
/// <remarks>
/// The stream depends only on the seed value — not on <see cref="Random"/>'s implementation, the runtime or the CPU — so
/// results are reproducible across machines and .NET versions. It does <b>not</b> reproduce NumPy's
/// <c>default_rng(seed).normal()</c> stream (PCG64 + ziggurat): equal seeds give different numbers than NumPy,
/// with the same distribution. Not thread-safe.
/// </remarks>
public sealed class SeededGaussian
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spare;
    private bool _hasSpare;

    /// <summary>Creates a generator from a 64-bit seed (any value, including 0).</summary>
    public SeededGaussian(long seed)
    {
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The complete state (for checkpoints and for undoing a rejected step).</summary>
    public SeededGaussianState State
    {
        get => new(_s0, _s1, _s2, _s3, _hasSpare, _spare);
        set
        {
            if ((value.S0 | value.S1 | value.S2 | value.S3) == 0)
            {
                throw new ArgumentException("An all-zero xoshiro256** state is invalid.", nameof(value));
            }

            if (value.HasSpare && !double.IsFinite(value.Spare))
            {
                throw new ArgumentException("The cached normal value must be finite.", nameof(value));
            }

            (_s0, _s1, _s2, _s3, _hasSpare, _spare) = (value.S0, value.S1, value.S2, value.S3, value.HasSpare, value.HasSpare ? value.Spare : 0.0);
        }
    }

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform number in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A standard normal number (mean 0, variance 1), by Marsaglia's polar method.</summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }

        NextPair(out double first, out _spare);
        _hasSpare = true;
        return first;
    }

    /// <summary>Fills <paramref name="destination"/> with independent normal numbers times <paramref name="scale"/>, in index order
    /// (computed in double, then rounded to <typeparamref name="T"/>). The values are exactly those of successive
    /// <see cref="NextGaussian"/> calls.</summary>
    public void Fill<T>(Span<T> destination, double scale = 1.0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (_hasSpare && destination.Length > 0)
        {
            destination[0] = T.CreateTruncating(_spare * scale);
            _hasSpare = false;
            i = 1;
        }

        for (; i + 1 < destination.Length; i += 2)
        {
            NextPair(out double a, out double b);
            destination[i] = T.CreateTruncating(a * scale);
            destination[i + 1] = T.CreateTruncating(b * scale);
        }

        if (i < destination.Length)
        {
            destination[i] = T.CreateTruncating(NextGaussian() * scale);
        }
    }

    /// <summary>Marsaglia's polar method: draws (u, v) uniformly in the unit disc (rejecting the rest and the origin) and returns
    /// <c>u·m</c>, <c>v·m</c> with <c>m = √(−2 ln s / s)</c>, <c>s = u² + v²</c>.</summary>
    private void NextPair(out double first, out double second)
    {
        double u, v, s;
        do
        {
            u = 2.0 * NextDouble() - 1.0;
            v = 2.0 * NextDouble() - 1.0;
            s = u * u + v * v;
        }
        while (s >= 1.0 || s == 0.0);

        double m = Math.Sqrt(-2.0 * Math.Log(s) / s);
        first = u * m;
        second = v * m;
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
