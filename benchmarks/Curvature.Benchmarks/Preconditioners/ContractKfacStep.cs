using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Internals;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>
/// The K-FAC step written against the <see cref="CurvatureBackend"/> contract only, with every buffer allocated in the
/// constructor (the step itself allocates nothing).
/// </summary>
/// <remarks>
/// Per step (Martens &amp; Grosse 2015, sections 5-6; decay and damping as in PERFORMANCE.md):
/// <list type="number">
/// <item><c>A ← 0.95·A + (0.05/256)·XᵀX</c>, <c>G ← 0.95·G + (0.05/256)·ΔᵀΔ</c>: two <c>?syrk</c> (lower triangle) with the
/// EMA folded into α and β.</item>
/// <item><c>π = √((tr A / n) / (tr G / n))</c>; damped copies <c>A + π√λ·I</c> and <c>G + (√λ/π)·I</c>.</item>
/// <item>Both inverted in place (<c>TryInvertPositiveDefinite</c>: <c>?potrf</c> + <c>?potri</c>, mirrored to full matrices).</item>
/// <item><c>P = G⁻¹·∇W·A⁻¹</c>: two <c>?gemm</c>.</item>
/// </list>
/// </remarks>
internal sealed class ContractKfacStep<T> : IKfacStep
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly int _n;

    /// <summary>Creates the layer state: seeded activations, output gradients and weight gradient; factors from the batch.
    /// Every buffer is 64-byte aligned (as the library's own matrices are).</summary>
    public ContractKfacStep(CurvatureBackend backend, int n)
    {
        _backend = backend;
        _n = n;
        int batch = IKfacStep.BatchSize;
        Activations = Aligned(SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 10)));
        OutputGradients = Aligned(SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 11)));
        WeightGradient = Aligned(SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 12)));
        FactorA = new AlignedBuffer<T>(n * n);
        FactorG = new AlignedBuffer<T>(n * n);
        InverseA = new AlignedBuffer<T>(n * n);
        InverseG = new AlignedBuffer<T>(n * n);
        Temporary = new AlignedBuffer<T>(n * n);
        NaturalGradient = new AlignedBuffer<T>(n * n);
        T scale = T.One / T.CreateChecked(batch);
        backend.SymmetricRankKUpdate(Activations.AsReadOnlySpan2D(batch, n), RankKForm.TransposeTimesMatrix, FactorA.AsSpan2D(n, n), Triangle.Lower, scale, T.Zero);
        backend.SymmetricRankKUpdate(OutputGradients.AsReadOnlySpan2D(batch, n), RankKForm.TransposeTimesMatrix, FactorG.AsSpan2D(n, n), Triangle.Lower, scale, T.Zero);
    }

    /// <summary>The layer order n (in = out = n).</summary>
    internal int N => _n;

    /// <summary>Layer inputs X, batch × n.</summary>
    internal AlignedBuffer<T> Activations { get; }

    /// <summary>Gradients w.r.t. the layer outputs Δ, batch × n.</summary>
    internal AlignedBuffer<T> OutputGradients { get; }

    /// <summary>∇W, n × n.</summary>
    internal AlignedBuffer<T> WeightGradient { get; }

    /// <summary>The input factor A (lower triangle valid).</summary>
    internal AlignedBuffer<T> FactorA { get; }

    /// <summary>The output-gradient factor G (lower triangle valid).</summary>
    internal AlignedBuffer<T> FactorG { get; }

    /// <summary>(A + π√λ I)⁻¹ after a step.</summary>
    internal AlignedBuffer<T> InverseA { get; }

    /// <summary>(G + √λ/π I)⁻¹ after a step.</summary>
    internal AlignedBuffer<T> InverseG { get; }

    /// <summary>G⁻¹·∇W, scratch.</summary>
    internal AlignedBuffer<T> Temporary { get; }

    /// <summary>The preconditioned gradient G⁻¹·∇W·A⁻¹ after a step.</summary>
    internal AlignedBuffer<T> NaturalGradient { get; }

    /// <inheritdoc />
    public void Step()
    {
        int n = _n, batch = IKfacStep.BatchSize;
        T alpha = T.CreateChecked((1 - IKfacStep.EmaDecay) / batch);
        T beta = T.CreateChecked(IKfacStep.EmaDecay);
        _backend.SymmetricRankKUpdate(Activations.AsReadOnlySpan2D(batch, n), RankKForm.TransposeTimesMatrix, FactorA.AsSpan2D(n, n), Triangle.Lower, alpha, beta);
        _backend.SymmetricRankKUpdate(OutputGradients.AsReadOnlySpan2D(batch, n), RankKForm.TransposeTimesMatrix, FactorG.AsSpan2D(n, n), Triangle.Lower, alpha, beta);

        double pi = Math.Sqrt(Trace(FactorA, n) / Trace(FactorG, n));
        double root = Math.Sqrt(IKfacStep.Damping);
        DampedInverse(FactorA, InverseA, n, pi * root);
        DampedInverse(FactorG, InverseG, n, root / pi);

        _backend.MatrixMultiply(InverseG.AsReadOnlySpan2D(n, n), Transpose.None, WeightGradient.AsReadOnlySpan2D(n, n), Transpose.None, Temporary.AsSpan2D(n, n), T.One, T.Zero);
        _backend.MatrixMultiply(Temporary.AsReadOnlySpan2D(n, n), Transpose.None, InverseA.AsReadOnlySpan2D(n, n), Transpose.None, NaturalGradient.AsSpan2D(n, n), T.One, T.Zero);
    }

    /// <summary>The damping shifts (A side, G side) of the trace heuristic for the current factors.</summary>
    internal static (double ShiftA, double ShiftG) Shifts(AlignedBuffer<T> factorA, AlignedBuffer<T> factorG, int n)
    {
        double pi = Math.Sqrt(Trace(factorA, n) / Trace(factorG, n));
        double root = Math.Sqrt(IKfacStep.Damping);
        return (pi * root, root / pi);
    }

    /// <summary>inverse ← factor + shift·I (the lower triangle is what the inversion reads).</summary>
    internal static void CopyDamped(AlignedBuffer<T> factor, AlignedBuffer<T> inverse, int n, double shift)
    {
        factor.CopyTo(inverse);
        T s = T.CreateChecked(shift);
        for (int i = 0; i < n; i++)
        {
            inverse[(i * n) + i] += s;
        }
    }

    private void DampedInverse(AlignedBuffer<T> factor, AlignedBuffer<T> inverse, int n, double shift)
    {
        CopyDamped(factor, inverse, n, shift);
        var status = _backend.TryInvertPositiveDefinite(inverse.AsSpan2D(n, n), Triangle.Lower);
        if (!status.Succeeded)
        {
            throw new MatrixNotPositiveDefiniteException(status, n);
        }
    }

    private static AlignedBuffer<T> Aligned(T[] values)
    {
        var buffer = new AlignedBuffer<T>(values.Length);
        values.CopyTo(buffer.Span);
        return buffer;
    }

    internal static double Trace(AlignedBuffer<T> m, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += double.CreateChecked(m[(i * n) + i]);
        }

        return sum;
    }
}
