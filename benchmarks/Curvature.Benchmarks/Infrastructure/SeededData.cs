using System.Numerics;

namespace Curvature.Benchmarks.Infrastructure;

/// <summary>
/// Deterministic benchmark data: the same seed gives the same values in every run and every process
/// (SplitMix64, as in native/baseline/blas_baseline.c), never <see cref="Random"/> with a time seed.
/// </summary>
internal static class SeededData
{
    /// <summary>The seed used for matrices of order <paramref name="n"/> (so every size gets its own data).</summary>
    public static ulong SeedFor(int n, int stream = 0) => 0x5EED0000UL + (ulong)n + ((ulong)stream << 32);

    /// <summary>A new array of <paramref name="count"/> values uniform in [-1, 1).</summary>
    public static T[] Uniform<T>(int count, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new T[count];
        ulong state = seed;
        for (int i = 0; i < data.Length; i++)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            data[i] = T.CreateChecked((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
        }

        return data;
    }

    /// <summary>
    /// A symmetric, strictly diagonally dominant (hence positive-definite) n × n matrix, row-major:
    /// <c>(R + Rᵀ)/2 + n·I</c> with R uniform in [-1, 1). Built in O(n²), the same way in the C baseline and the
    /// PyTorch script, so all implementations factor and diagonalise the same kind of matrix.
    /// </summary>
    public static T[] SymmetricPositiveDefinite<T>(int n, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = Uniform<T>(n * n, seed);
        var s = new T[n * n];
        T half = T.CreateChecked(0.5);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                s[(i * n) + j] = half * (r[(i * n) + j] + r[(j * n) + i]);
            }

            s[(i * n) + i] += T.CreateChecked(n);
        }

        return s;
    }
}
