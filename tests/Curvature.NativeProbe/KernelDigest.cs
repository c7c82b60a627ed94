using System.Security.Cryptography;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;

namespace Curvature.NativeProbe;

/// <summary>A digest of kernel results, shared by this probe and the tests that compare against it in their own process.</summary>
public static class KernelDigest
{
    /// <summary>Runs GEMM, SYRK, POTRF+POTRI and SYEVD (float and double, several sizes) on fixed matrices placed
    /// <paramref name="offset"/> elements into their buffers, and hashes every result.</summary>
    public static string Compute(CurvatureBackend backend, int offset)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (int n in new[] { 16, 40, 97, 160 })
        {
            Run<double>(backend, n, offset, sha);
            Run<float>(backend, n, offset, sha);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    private static void Run<T>(CurvatureBackend backend, int n, int offset, IncrementalHash sha)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(n);
        int size = n * n;
        T[] x = new T[offset + size], a = new T[offset + size], c = new T[offset + size];
        for (int i = 0; i < size; i++)
        {
            x[offset + i] = T.CreateTruncating(rng.NextDouble() - 0.5);
        }

        var xv = new ReadOnlySpan2D<T>(x, offset, n, n, 0);
        var av = new Span2D<T>(a, offset, n, n, 0);
        var cv = new Span2D<T>(c, offset, n, n, 0);

        backend.MatrixMultiply(xv, Transpose.None, xv, Transpose.Transpose, cv, T.One, T.Zero);
        Hash(sha, c, offset);

        // A = XᵀX/n + I (positive definite): SYRK, then Cholesky inverse.
        backend.SymmetricRankKUpdate(xv, RankKForm.TransposeTimesMatrix, av, Triangle.Lower, T.One / T.CreateTruncating(n), T.Zero);
        for (int i = 0; i < n; i++)
        {
            av[i, i] += T.One;
        }

        Hash(sha, a, offset);
        var inverse = (T[])a.Clone();
        if (!backend.TryInvertPositiveDefinite(new Span2D<T>(inverse, offset, n, n, 0), Triangle.Lower).Succeeded)
        {
            throw new InvalidOperationException("not positive definite");
        }

        Hash(sha, inverse, offset);
        var values = new T[n];
        backend.SymmetricEigen(av, Triangle.Lower, values);
        Hash(sha, a, offset);
        Hash(sha, values, 0);
    }

    private static void Hash<T>(IncrementalHash sha, T[] values, int offset)
        where T : unmanaged => sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan(offset)));
}
