using System.Numerics;
using CommunityToolkit.HighPerformance;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// The checks each algorithm benchmark runs once in <c>[GlobalSetup]</c>: a failed check throws, so BenchmarkDotNet
/// reports the case as failed instead of timing a broken workload.
/// </summary>
internal static class WorkloadCheck
{
    /// <summary>The relative tolerance for the element type: 1e-2 for float (ill-conditioned factors), 1e-8 for double.</summary>
    public static double Tolerance<T>() => typeof(T) == typeof(float) ? 1e-2 : 1e-8;

    /// <summary>Throws unless every value is finite.</summary>
    public static void Finite<T>(string what, ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                throw new InvalidOperationException($"Workload check failed: {what} holds {values[i]} at {i}.");
            }
        }
    }

    /// <summary>Throws unless every value of a 2-D view is finite.</summary>
    public static void Finite<T>(string what, ReadOnlySpan2D<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < values.Height; r++)
        {
            Finite(what, values.GetRowSpan(r));
        }
    }

    /// <summary>Throws when <c>‖actual − expected‖ / ‖expected‖</c> exceeds <paramref name="tolerance"/> (or is NaN); returns the error.</summary>
    public static double Close(string what, ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double tolerance)
    {
        if (actual.Length != expected.Length)
        {
            throw new InvalidOperationException($"Workload check failed: {what} has {actual.Length} values, the oracle {expected.Length}.");
        }

        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            den += expected[i] * expected[i];
        }

        double error = Math.Sqrt(num / den);
        if (!(error <= tolerance) || den == 0)
        {
            throw new InvalidOperationException($"Workload check failed: {what} differs from the oracle by {error:E2} (relative; tolerance {tolerance:E0}).");
        }

        Console.WriteLine($"// Workload check: {what}: relative error {error:E2} (tolerance {tolerance:E0}) OK");
        return error;
    }

    /// <summary>Throws unless the condition holds.</summary>
    public static void That(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Workload check failed: {message}");
        }
    }

    /// <summary>A float64 copy of a 2-D view.</summary>
    public static double[,] Widen<T>(ReadOnlySpan2D<T> m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var r = new double[m.Height, m.Width];
        for (int i = 0; i < m.Height; i++)
        {
            for (int j = 0; j < m.Width; j++)
            {
                r[i, j] = double.CreateChecked(m[i, j]);
            }
        }

        return r;
    }

    /// <summary><c>M·v</c> (or <c>Mᵀ·v</c>) in float64.</summary>
    public static double[] Times(double[,] m, ReadOnlySpan<double> v, bool transpose = false)
    {
        int rows = transpose ? m.GetLength(1) : m.GetLength(0), cols = transpose ? m.GetLength(0) : m.GetLength(1);
        var r = new double[rows];
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            for (int j = 0; j < cols; j++)
            {
                s += (transpose ? m[j, i] : m[i, j]) * v[j];
            }

            r[i] = s;
        }

        return r;
    }

    /// <summary>Column <paramref name="j"/> of a matrix.</summary>
    public static double[] Column(double[,] m, int j)
    {
        var r = new double[m.GetLength(0)];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = m[i, j];
        }

        return r;
    }
}
