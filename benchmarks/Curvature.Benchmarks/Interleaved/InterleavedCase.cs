using System.Numerics;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>
/// One A/B comparison of the interleaved benchmark: A is Curvature's public call, B the bare routine from the same
/// native library handle (or from bare OpenBLAS for the managed backend), both on the same 64-byte-aligned buffers.
/// </summary>
internal abstract class InterleavedCase
{
    protected InterleavedCase(string kernel, string type, int n, string implementation, string baseline)
    {
        Kernel = kernel;
        Type = type;
        N = n;
        Implementation = implementation;
        Baseline = baseline;
    }

    /// <summary>gemm, syrk, cholinv, syevd or kfacstep.</summary>
    public string Kernel { get; }

    /// <summary>double or float.</summary>
    public string Type { get; }

    /// <summary>The matrix order.</summary>
    public int N { get; }

    /// <summary>Curvature's backend: openblas, mkl or managed.</summary>
    public string Implementation { get; }

    /// <summary>The bare library of the B side: openblas or mkl.</summary>
    public string Baseline { get; }

    /// <summary>Restores the inputs A and B read (untimed; in-place routines overwrite them).</summary>
    public abstract void Prepare();

    /// <summary>Curvature's public call.</summary>
    public abstract void RunA();

    /// <summary>The bare routine.</summary>
    public abstract void RunB();

    /// <summary>Keeps a copy of A's result (untimed), for <see cref="Compare"/> after the next <see cref="RunB"/>.</summary>
    public abstract void SaveA();

    /// <summary>Compares the saved A result with B's latest result: "identical" (bit for bit) or the largest difference
    /// relative to the largest magnitude, e.g. "max rel. diff 3.1e-16".</summary>
    public abstract string Compare();

    /// <summary>Largest |x − y| over the pairs relative to the largest |y|; 0 when all are bit-identical.</summary>
    protected static double RelativeDifference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, out bool identical)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        identical = System.Runtime.InteropServices.MemoryMarshal.AsBytes(x).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y));
        double diff = 0, scale = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double a = double.CreateTruncating(x[i]), b = double.CreateTruncating(y[i]);
            diff = Math.Max(diff, Math.Abs(a - b));
            scale = Math.Max(scale, Math.Abs(b));
        }

        return scale == 0 ? diff : diff / scale;
    }

    /// <summary>The verdict text of <see cref="Compare"/>.</summary>
    protected static string Verdict(double relative, bool identical) =>
        identical ? "identical" : $"max rel. diff {relative:0.0e0}";
}
