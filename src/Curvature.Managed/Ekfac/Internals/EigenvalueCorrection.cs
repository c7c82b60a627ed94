using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;

namespace Curvature.Ekfac.Internals;

/// <summary>
/// The corrected-eigenvalue kernels (George et al. 2018; curvlinops' <c>compute_eigenvalue_correction_linear_weight_sharing</c>):
/// inputs <c>X</c> (<c>N·S × D2</c>, row <c>n·S + s</c>) and gradients <c>Y</c> (<c>V·N·S × D1</c>, row <c>(v·N + n)·S + s</c>)
/// are rotated with one BLAS <c>?GEMM</c> each, then either every rotated per-example gradient is formed (one GEMM each)
/// and squared, or the per-example Gramians are contracted (one GEMM per vector index v). When forming the per-example
/// gradients first and rotating them is cheaper (large S), that order is used instead.
/// </summary>
internal static class EigenvalueCorrection
{
    /// <summary>The memory rule: Gramian when <c>S²(D1 + D2) &lt; D1·D2</c>.</summary>
    public static bool UseGramian(EkfacCorrectionStrategy strategy, int sharedPositions, int d1, int d2) => strategy switch
    {
        EkfacCorrectionStrategy.Gramian => true,
        EkfacCorrectionStrategy.PerExampleGradients => false,
        _ => (long)sharedPositions * sharedPositions * (d1 + d2) < (long)d1 * d2,
    };

    /// <summary><c>λ ← λ + scale · Σ_{v,n} (Q_Gᵀ Σ_s y_{v,n,s} x_{n,s}ᵀ Q_A)∘2</c>.</summary>
    public static void AccumulateWeight<T>(
        CurvatureBackend backend, ReadOnlySpan2D<T> x, ReadOnlySpan2D<T> y, int batch, int shared, int vectors,
        ReadOnlySpan2D<T> qG, ReadOnlySpan2D<T> qA, Span2D<T> lambda, T scale, bool gramian, Workspace<T> ws)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d1 = qG.Height, d2 = qA.Height;
        if (!gramian && FormGradientsFirst(shared, d1, d2))
        {
            AccumulateFormedGradients(backend, x, y, batch, shared, vectors, qG, qA, lambda, scale, ws);
            return;
        }

        var xr = ws.Get(0, batch * shared, d2);
        var yr = ws.Get(1, vectors * batch * shared, d1);
        backend.MatrixMultiply(x, Transpose.None, qA, Transpose.None, xr, T.One, T.Zero);
        backend.MatrixMultiply(y, Transpose.None, qG, Transpose.None, yr, T.One, T.Zero);
        if (gramian)
        {
            int pairs = shared * shared;
            var xg = ws.Get(2, batch * pairs, d2);
            var yg = ws.Get(3, batch * pairs, d1);
            PairProducts<T>(xr, batch, shared, xg);
            for (int v = 0; v < vectors; v++)
            {
                PairProducts<T>(yr.Slice(v * batch * shared, 0, batch * shared, d1), batch, shared, yg);
                backend.MatrixMultiply<T>(yg, Transpose.Transpose, xg, Transpose.None, lambda, scale, T.One);
            }

            return;
        }

        var p = ws.Get(2, d1, d2);
        for (int v = 0; v < vectors; v++)
        {
            for (int n = 0; n < batch; n++)
            {
                var yn = yr.Slice(((v * batch) + n) * shared, 0, shared, d1);
                var xn = xr.Slice(n * shared, 0, shared, d2);
                backend.MatrixMultiply<T>(yn, Transpose.Transpose, xn, Transpose.None, p, T.One, T.Zero);
                AddSquares(p, lambda, scale);
            }
        }
    }

    /// <summary>
    /// The cheaper order of the per-example strategy (curvlinops leaves it to opt-einsum): form <c>Γ = Σ_s y_s x_sᵀ</c> first and
    /// rotate it (<c>D1·D2·(D1 + D2)</c> per example) instead of rotating every row (<c>S·(D1² + D2²)</c> per example).
    /// </summary>
    public static bool FormGradientsFirst(int sharedPositions, int d1, int d2) =>
        (long)d1 * d2 * (d1 + d2) < (long)sharedPositions * (((long)d1 * d1) + ((long)d2 * d2));

    /// <summary>Per-example strategy, formed first: <c>Γ = Y_nᵀ X_n</c>, then <c>Q_Gᵀ Γ Q_A</c> (three GEMMs per example).</summary>
    private static void AccumulateFormedGradients<T>(
        CurvatureBackend backend, ReadOnlySpan2D<T> x, ReadOnlySpan2D<T> y, int batch, int shared, int vectors,
        ReadOnlySpan2D<T> qG, ReadOnlySpan2D<T> qA, Span2D<T> lambda, T scale, Workspace<T> ws)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d1 = qG.Height, d2 = qA.Height;
        var gamma = ws.Get(2, d1, d2);
        var left = ws.Get(3, d1, d2);
        for (int v = 0; v < vectors; v++)
        {
            for (int n = 0; n < batch; n++)
            {
                var yn = y.Slice(((v * batch) + n) * shared, 0, shared, d1);
                var xn = x.Slice(n * shared, 0, shared, d2);
                backend.MatrixMultiply<T>(yn, Transpose.Transpose, xn, Transpose.None, gamma, T.One, T.Zero);
                backend.MatrixMultiply<T>(qG, Transpose.Transpose, gamma, Transpose.None, left, T.One, T.Zero);
                backend.MatrixMultiply<T>(left, Transpose.None, qA, Transpose.None, gamma, T.One, T.Zero);
                AddSquares(gamma, lambda, scale);
            }
        }
    }

    private static void AddSquares<T>(ReadOnlySpan2D<T> values, Span2D<T> lambda, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Height; i++)
        {
            ReadOnlySpan<T> src = values.GetRowSpan(i);
            Span<T> dst = lambda.GetRowSpan(i);
            for (int j = 0; j < src.Length; j++)
            {
                dst[j] += scale * src[j] * src[j];
            }
        }
    }

    /// <summary>Bias only: <c>λ ← λ + scale · Σ_r (Q_Gᵀ y_r)∘2</c> over the rows <c>y_r = Σ_s g[v, n, s]</c>.</summary>
    public static void AccumulateBias<T>(CurvatureBackend backend, ReadOnlySpan2D<T> summedGradients, ReadOnlySpan2D<T> qG, Span<T> lambda, T scale, Workspace<T> ws)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d1 = qG.Height, rows = summedGradients.Height;
        var yr = ws.Get(1, rows, d1);
        backend.MatrixMultiply(summedGradients, Transpose.None, qG, Transpose.None, yr, T.One, T.Zero);
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = yr.GetRowSpan(r);
            for (int i = 0; i < d1; i++)
            {
                lambda[i] += scale * row[i] * row[i];
            }
        }
    }

    /// <summary>Row <c>(n·S + s)·S + t</c> of <paramref name="destination"/> = <c>rows[n·S + s] ∘ rows[n·S + t]</c>.</summary>
    private static void PairProducts<T>(ReadOnlySpan2D<T> rows, int batch, int shared, Span2D<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = rows.Width;
        for (int n = 0; n < batch; n++)
        {
            for (int s = 0; s < shared; s++)
            {
                ReadOnlySpan<T> a = rows.GetRowSpan((n * shared) + s);
                for (int t = 0; t < shared; t++)
                {
                    ReadOnlySpan<T> b = rows.GetRowSpan((n * shared) + t);
                    Span<T> dst = destination.GetRowSpan((((n * shared) + s) * shared) + t);
                    for (int j = 0; j < d; j++)
                    {
                        dst[j] = a[j] * b[j];
                    }
                }
            }
        }
    }
}
