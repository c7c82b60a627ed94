using System.Numerics;
using Curvature.Backends;
using Curvature.Backends.Managed;

namespace Curvature.Tests.Kernels;

/// <summary>
/// Managed-kernel results on seeded inputs (GEMM, SYRK, Cholesky inverse, SYEVD through divide and conquer; double and
/// float), as doubles with the relative tolerance allowed between two builds or vector widths. Shared by the vector
/// width tests (child processes) and the NativeAOT probe program (tests/Curvature.AotProbe), which compiles this file.
/// </summary>
public static class KernelFingerprint
{
    /// <summary>The managed backend's vector width in this process (512, 256, 128 or 0), from its description.</summary>
    public static int Width
    {
        get
        {
            string d = new ManagedBackend().Describe();
            return d.Contains("Vector512", StringComparison.Ordinal) ? 512
                : d.Contains("Vector256", StringComparison.Ordinal) ? 256
                : d.Contains("Vector128", StringComparison.Ordinal) ? 128 : 0;
        }
    }

    /// <summary>Computes the results.</summary>
    public static List<(string Name, double Tolerance, double[] Values)> Compute()
    {
        var backend = new ManagedBackend();
        var results = new List<(string, double, double[])>();
        Add<double>(backend, results, 1e-12, 1e-9);
        Add<float>(backend, results, 1e-4, 1e-2);
        return results;
    }

    /// <summary>Writes the width and the results (binary).</summary>
    public static void Write(Stream stream)
    {
        var results = Compute();
        using var writer = new BinaryWriter(stream);
        writer.Write(Width);
        writer.Write(results.Count);
        foreach (var (name, tolerance, values) in results)
        {
            writer.Write(name);
            writer.Write(tolerance);
            writer.Write(values.Length);
            foreach (double v in values)
            {
                writer.Write(v);
            }
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote and compares it with this process's results; returns the width read
    /// and a description of every difference beyond the tolerances (empty when they agree).</summary>
    public static (int Width, List<string> Differences) CompareWith(Stream stream)
    {
        var mine = Compute();
        var differences = new List<string>();
        using var reader = new BinaryReader(stream);
        int width = reader.ReadInt32();
        int count = reader.ReadInt32();
        if (count != mine.Count)
        {
            differences.Add($"{count} results read, {mine.Count} computed");
            return (width, differences);
        }

        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            _ = reader.ReadDouble();
            var values = new double[reader.ReadInt32()];
            for (int j = 0; j < values.Length; j++)
            {
                values[j] = reader.ReadDouble();
            }

            var (myName, tolerance, myValues) = mine[i];
            if (name != myName || values.Length != myValues.Length)
            {
                differences.Add($"result {i}: '{name}' ({values.Length}) read, '{myName}' ({myValues.Length}) computed");
                continue;
            }

            double scale = myValues.Max(Math.Abs), diff = 0;
            for (int j = 0; j < values.Length; j++)
            {
                diff = Math.Max(diff, Math.Abs(values[j] - myValues[j]));
            }

            if (!(diff <= tolerance * scale))
            {
                differences.Add($"{name}: width {width} differs from width {Width} by {diff / scale:E2} relative (bound {tolerance:E0})");
            }
        }

        return (width, differences);
    }

    private static void Add<T>(CurvatureBackend backend, List<(string, double, double[])> results, double tolerance, double vectorTolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string t = typeof(T).Name;
        var rng = new Random(2024);
        T[] Random(int count) => [.. Enumerable.Range(0, count).Select(_ => T.CreateTruncating((rng.NextDouble() * 2) - 1))];
        double[] Wide(T[] v) => [.. v.Select(double.CreateTruncating)];

        int m = 67, k = 53, n = 71;
        var a = Random(m * k);
        var b = Random(k * n);
        var c = new T[m * n];
        backend.MatrixMultiply<T>(new(a, m, k), Transpose.None, new(b, k, n), Transpose.None, new(c, m, n), T.One, T.Zero);
        results.Add(($"{t} gemm", tolerance, Wide(c)));

        var s = new T[n * n];
        backend.SymmetricRankKUpdate<T>(new(b, k, n), RankKForm.TransposeTimesMatrix, new(s, n, n), Triangle.Lower, T.One, T.Zero);
        results.Add(($"{t} syrk", tolerance, Wide(s)));

        // SPD: AᵀA + n·I, and its inverse.
        for (int i = 0; i < n; i++)
        {
            s[(i * n) + i] += T.CreateTruncating(n);
        }

        var inv = (T[])s.Clone();
        if (!backend.TryInvertPositiveDefinite<T>(new(inv, n, n), Triangle.Lower).Succeeded)
        {
            throw new InvalidOperationException("The fingerprint's SPD matrix was not inverted.");
        }

        results.Add(($"{t} cholesky inverse", tolerance, Wide(inv)));

        // A well-separated spectrum (the divide-and-conquer path at n = 90): eigenvalues and sign-normalised vectors.
        int e = 90;
        var q = Random(e * e);
        var work = new T[e * e];
        for (int i = 0; i < e; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                T v = q[(i * e) + j] + (i == j ? T.CreateTruncating(4 * (i + 1)) : T.Zero);
                work[(i * e) + j] = v;
                work[(j * e) + i] = v;
            }
        }

        var w = new T[e];
        backend.SymmetricEigen<T>(new(work, e, e), Triangle.Lower, w);
        results.Add(($"{t} eigenvalues", tolerance, Wide(w)));
        results.Add(($"{t} eigenvectors", vectorTolerance, Wide(work)));
    }
}
