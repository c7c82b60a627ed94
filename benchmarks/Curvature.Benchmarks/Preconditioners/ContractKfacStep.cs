using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;

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
/// <item>Both inverted in place: <c>?potrf</c> + <c>?potri</c>, mirrored to full matrices.</item>
/// <item><c>P = G⁻¹·∇W·A⁻¹</c>: two <c>?gemm</c>.</item>
/// </list>
/// </remarks>
internal sealed class ContractKfacStep<T> : IKfacStep
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly int _n;

    /// <summary>Creates the layer state: seeded activations, output gradients and weight gradient; factors from the batch.</summary>
    public ContractKfacStep(CurvatureBackend backend, int n)
    {
        _backend = backend;
        _n = n;
        int batch = IKfacStep.BatchSize;
        Activations = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 10));
        OutputGradients = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 11));
        WeightGradient = SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 12));
        FactorA = new T[n * n];
        FactorG = new T[n * n];
        InverseA = new T[n * n];
        InverseG = new T[n * n];
        Temporary = new T[n * n];
        NaturalGradient = new T[n * n];
        T scale = T.One / T.CreateChecked(batch);
        backend.SymmetricRankKUpdate(new ReadOnlySpan2D<T>(Activations, batch, n), RankKForm.TransposeTimesMatrix, new Span2D<T>(FactorA, n, n), Triangle.Lower, scale, T.Zero);
        backend.SymmetricRankKUpdate(new ReadOnlySpan2D<T>(OutputGradients, batch, n), RankKForm.TransposeTimesMatrix, new Span2D<T>(FactorG, n, n), Triangle.Lower, scale, T.Zero);
    }

    /// <summary>Layer inputs X, batch × n.</summary>
    internal T[] Activations { get; }

    /// <summary>Gradients w.r.t. the layer outputs Δ, batch × n.</summary>
    internal T[] OutputGradients { get; }

    /// <summary>∇W, n × n.</summary>
    internal T[] WeightGradient { get; }

    /// <summary>The input factor A (lower triangle valid).</summary>
    internal T[] FactorA { get; }

    /// <summary>The output-gradient factor G (lower triangle valid).</summary>
    internal T[] FactorG { get; }

    /// <summary>(A + π√λ I)⁻¹ after a step.</summary>
    internal T[] InverseA { get; }

    /// <summary>(G + √λ/π I)⁻¹ after a step.</summary>
    internal T[] InverseG { get; }

    /// <summary>G⁻¹·∇W, scratch.</summary>
    internal T[] Temporary { get; }

    /// <summary>The preconditioned gradient G⁻¹·∇W·A⁻¹ after a step.</summary>
    internal T[] NaturalGradient { get; }

    /// <inheritdoc />
    public void Step()
    {
        int n = _n, batch = IKfacStep.BatchSize;
        T alpha = T.CreateChecked((1 - IKfacStep.EmaDecay) / batch);
        T beta = T.CreateChecked(IKfacStep.EmaDecay);
        _backend.SymmetricRankKUpdate(new ReadOnlySpan2D<T>(Activations, batch, n), RankKForm.TransposeTimesMatrix, new Span2D<T>(FactorA, n, n), Triangle.Lower, alpha, beta);
        _backend.SymmetricRankKUpdate(new ReadOnlySpan2D<T>(OutputGradients, batch, n), RankKForm.TransposeTimesMatrix, new Span2D<T>(FactorG, n, n), Triangle.Lower, alpha, beta);

        double pi = Math.Sqrt(Trace(FactorA, n) / Trace(FactorG, n));
        double root = Math.Sqrt(IKfacStep.Damping);
        DampedInverse(FactorA, InverseA, n, pi * root);
        DampedInverse(FactorG, InverseG, n, root / pi);

        _backend.MatrixMultiply(new ReadOnlySpan2D<T>(InverseG, n, n), Transpose.None, new ReadOnlySpan2D<T>(WeightGradient, n, n), Transpose.None, new Span2D<T>(Temporary, n, n), T.One, T.Zero);
        _backend.MatrixMultiply(new ReadOnlySpan2D<T>(Temporary, n, n), Transpose.None, new ReadOnlySpan2D<T>(InverseA, n, n), Transpose.None, new Span2D<T>(NaturalGradient, n, n), T.One, T.Zero);
    }

    private void DampedInverse(T[] factor, T[] inverse, int n, double shift)
    {
        factor.AsSpan().CopyTo(inverse);
        T s = T.CreateChecked(shift);
        for (int i = 0; i < n; i++)
        {
            inverse[(i * n) + i] += s;
        }

        var m = new Span2D<T>(inverse, n, n);
        _backend.CholeskyFactor(m, Triangle.Lower);
        _backend.CholeskyInverse(m, Triangle.Lower);
    }

    private static double Trace(T[] m, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += double.CreateChecked(m[(i * n) + i]);
        }

        return sum;
    }
}
