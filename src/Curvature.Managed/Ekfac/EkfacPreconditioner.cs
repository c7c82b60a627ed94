using System.Numerics;
using Curvature.Models;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Ekfac.Internals;
using Curvature.Kfac;
using Curvature.Kfac.Internals;

namespace Curvature.Ekfac;

/// <summary>
/// EKFAC in a training loop (George et al. 2018, Algorithm 1) for dense layers <c>y = W x (+ b)</c>, each one joint
/// block <c>[W | b]</c> (bias as the constant input feature 1). Per <see cref="Update"/> of a layer with a batch of
/// inputs <c>x_n</c> and output gradients <c>g_n</c> (per-example weight gradient <c>∇_n = g_n x_nᵀ</c>):
/// the running K-FAC factors <c>A ← βA + (1−β)·Σ x xᵀ/N</c>, <c>G ← βG + (1−β)·Σ g gᵀ/N</c>; every
/// <see cref="EkfacPreconditionerOptions.EigenbasisPeriod"/> updates the eigenbasis <c>Q_A</c>, <c>Q_G</c> of the running
/// factors; every update the scalings <c>s ← αs + (1−α)·Σ_n (Q_Gᵀ ∇_n Q_A)∘2 / N</c> (after a basis change the old
/// scalings are dropped: <c>s</c> restarts from the batch estimate). <see cref="Apply"/> returns
/// <c>Q_G ((Q_Gᵀ ∇ Q_A) / (s + ε)) Q_Aᵀ</c>.
/// </summary>
/// <remarks>
/// BLAS <c>?SYRK</c> for the factors, <c>?GEMM</c> for rotations and the scalings' contraction (the Gramian form with
/// S = 1: <c>(Ỹ∘Ỹ)ᵀ(X̃∘X̃)</c>), LAPACK <c>?SYEVD</c> for the eigenbasis. All workspaces are allocated at construction:
/// <see cref="Apply"/> and the updates between eigenbasis refreshes allocate nothing. A rejected update (bad shapes,
/// NaN/Inf, eigensolver failure) leaves the layer's state as it was. Not thread-safe.
/// </remarks>
public sealed class EkfacPreconditioner<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly PreconditionerLayerState<T>[] _states;
    private readonly T _factorDecay;
    private readonly T _scalingDecay;
    private readonly T _damping;

    /// <summary>Creates the preconditioner for <paramref name="layers"/> (Linear layers on <c>[N, D_in]</c> inputs).</summary>
    /// <exception cref="NotSupportedException">A layer is not Linear.</exception>
    public EkfacPreconditioner(CurvatureBackend backend, IReadOnlyList<LayerSpec> layers, EkfacPreconditionerOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (layers.Count == 0)
        {
            throw new ArgumentException("At least one layer is needed.", nameof(layers));
        }

        foreach (var l in layers)
        {
            ArgumentNullException.ThrowIfNull(l, nameof(layers));
            if (l.Kind != LayerKind.Linear)
            {
                throw new NotSupportedException($"The EKFAC preconditioner supports dense layers only; layer '{l.Name}' is {l.Kind}.");
            }
        }

        _backend = backend;
        Layers = [.. layers];
        Options = options;
        _factorDecay = T.CreateChecked(options.FactorDecay);
        _scalingDecay = T.CreateChecked(options.ScalingDecay);
        _damping = T.CreateChecked(options.Damping);
        _states = [.. layers.Select(l => new PreconditionerLayerState<T>(l.OutputSize, l.WeightInputSize, l.HasBias, options.MaxBatchSize))];
    }

    /// <summary>The layers, in the order their indices refer to.</summary>
    public IReadOnlyList<LayerSpec> Layers { get; }

    /// <summary>The settings.</summary>
    public EkfacPreconditionerOptions Options { get; }

    /// <summary>How many updates layer <paramref name="layer"/> has received.</summary>
    public long UpdateCount(int layer) => State(layer).Updates;

    /// <summary>The running input factor A of a layer (<c>D_in' × D_in'</c>).</summary>
    public ReadOnlySpan2D<T> InputCovariance(int layer) { var s = State(layer); return PreconditionerLayerState<T>.View(s.A, s.D2, s.D2); }

    /// <summary>The running gradient factor G of a layer (<c>D_out × D_out</c>).</summary>
    public ReadOnlySpan2D<T> GradientCovariance(int layer) { var s = State(layer); return PreconditionerLayerState<T>.View(s.G, s.D1, s.D1); }

    /// <summary>Q_A of a layer (eigenvectors of A at the last refresh, as columns).</summary>
    public ReadOnlySpan2D<T> InputEigenvectors(int layer) { var s = State(layer); return PreconditionerLayerState<T>.View(s.QA, s.D2, s.D2); }

    /// <summary>Q_G of a layer (eigenvectors of G at the last refresh, as columns).</summary>
    public ReadOnlySpan2D<T> GradientEigenvectors(int layer) { var s = State(layer); return PreconditionerLayerState<T>.View(s.QG, s.D1, s.D1); }

    /// <summary>The scalings s of a layer (<c>D_out × D_in'</c>; entry (i, j) belongs to <c>Q_G[:, i] ⊗ Q_A[:, j]</c>).</summary>
    public ReadOnlySpan2D<T> Scalings(int layer) { var s = State(layer); return PreconditionerLayerState<T>.View(s.Scalings, s.D1, s.D2); }

    /// <summary>Updates one layer's factors, (every T updates) its eigenbasis, and its scalings from a batch.</summary>
    /// <param name="layer">The layer index.</param>
    /// <param name="inputs">The layer inputs, <c>N × D_in</c> (without the bias feature).</param>
    /// <param name="outputGradients">The per-example gradients of the loss with respect to the layer output, <c>N × D_out</c>.</param>
    /// <exception cref="ArgumentException">Shapes do not match, N is 0 or above the maximum, or a value is not finite.</exception>
    /// <exception cref="EigenDecompositionFailedException">The eigensolver did not converge (the state is unchanged).</exception>
    public void Update(int layer, ReadOnlySpan2D<T> inputs, ReadOnlySpan2D<T> outputGradients)
    {
        var st = State(layer);
        int n = inputs.Height;
        if (n < 1 || n > Options.MaxBatchSize)
        {
            throw new ArgumentException($"The batch must hold 1 to {Options.MaxBatchSize} examples, but it holds {n}.", nameof(inputs));
        }

        if (inputs.Width != st.DIn)
        {
            throw new ArgumentException($"Layer {layer} expects inputs with {st.DIn} columns, but they have {inputs.Width}.", nameof(inputs));
        }

        if (outputGradients.Height != n || outputGradients.Width != st.D1)
        {
            throw new ArgumentException($"The output gradients must be {n} × {st.D1}, but they are {outputGradients.Height} × {outputGradients.Width}.", nameof(outputGradients));
        }

        if (!FactorMath.AllFinite(inputs) || !FactorMath.AllFinite(outputGradients))
        {
            throw new ArgumentException($"The batch for layer {layer} contains NaN or infinity.", nameof(inputs));
        }

        int d1 = st.D1, d2 = st.D2;
        var x = PreconditionerLayerState<T>.View(st.X, n, d2);
        for (int r = 0; r < n; r++)
        {
            Span<T> row = x.GetRowSpan(r);
            inputs.GetRowSpan(r).CopyTo(row);
            if (st.HasBias)
            {
                row[st.DIn] = T.One;
            }
        }

        // New factors into the back buffers.
        bool first = st.Updates == 0;
        T beta = first ? T.Zero : _factorDecay;
        T weight = (T.One - beta) / T.CreateChecked(n);
        st.A.CopyTo(st.ANext, 0);
        st.G.CopyTo(st.GNext, 0);
        var aNext = PreconditionerLayerState<T>.View(st.ANext, d2, d2);
        var gNext = PreconditionerLayerState<T>.View(st.GNext, d1, d1);
        _backend.SymmetricRankKUpdate<T>(x, RankKForm.TransposeTimesMatrix, aNext, Triangle.Lower, weight, beta);
        _backend.SymmetricRankKUpdate(outputGradients, RankKForm.TransposeTimesMatrix, gNext, Triangle.Lower, weight, beta);
        FactorMath.MirrorLower(aNext);
        FactorMath.MirrorLower(gNext);

        bool refresh = st.Updates % Options.EigenbasisPeriod == 0;
        if (refresh)
        {
            st.ANext.CopyTo(st.QANext, 0);
            st.GNext.CopyTo(st.QGNext, 0);
            _backend.SymmetricEigen(PreconditionerLayerState<T>.View(st.QANext, d2, d2), Triangle.Lower, st.ValuesA);
            _backend.SymmetricEigen(PreconditionerLayerState<T>.View(st.QGNext, d1, d1), Triangle.Lower, st.ValuesG);
            (st.QA, st.QANext) = (st.QANext, st.QA);
            (st.QG, st.QGNext) = (st.QGNext, st.QG);
        }

        (st.A, st.ANext) = (st.ANext, st.A);
        (st.G, st.GNext) = (st.GNext, st.G);

        // Scalings: s ← α s + (1 − α)/N · (Ỹ∘Ỹ)ᵀ (X̃∘X̃) with X̃ = X Q_A, Ỹ = Y Q_G.
        var xr = PreconditionerLayerState<T>.View(st.XRotated, n, d2);
        var yr = PreconditionerLayerState<T>.View(st.YRotated, n, d1);
        _backend.MatrixMultiply<T>(x, Transpose.None, PreconditionerLayerState<T>.View(st.QA, d2, d2), Transpose.None, xr, T.One, T.Zero);
        _backend.MatrixMultiply(outputGradients, Transpose.None, PreconditionerLayerState<T>.View(st.QG, d1, d1), Transpose.None, yr, T.One, T.Zero);
        Square(st.XRotated.AsSpan(0, n * d2));
        Square(st.YRotated.AsSpan(0, n * d1));
        T alpha = refresh ? T.Zero : _scalingDecay;
        _backend.MatrixMultiply<T>(yr, Transpose.Transpose, xr, Transpose.None, PreconditionerLayerState<T>.View(st.Scalings, d1, d2),
            (T.One - alpha) / T.CreateChecked(n), alpha);
        st.Updates++;
    }

    /// <summary><c>destination = Q_G ((Q_Gᵀ ∇ Q_A) / (s + ε)) Q_Aᵀ</c> for a layer's gradient <c>∇ = [∇W | ∇b]</c> (<c>D_out × D_in'</c>).</summary>
    /// <exception cref="ArgumentException">Shapes do not match, or the gradient holds NaN or infinity.</exception>
    /// <exception cref="InvalidOperationException">The layer has not been updated yet.</exception>
    public void Apply(int layer, ReadOnlySpan2D<T> gradient, Span2D<T> destination)
    {
        var st = State(layer);
        int d1 = st.D1, d2 = st.D2;
        if (gradient.Height != d1 || gradient.Width != d2 || destination.Height != d1 || destination.Width != d2)
        {
            throw new ArgumentException($"Gradient and destination must be {d1} × {d2} ([∇W | ∇b]), but they are {gradient.Height} × {gradient.Width} and {destination.Height} × {destination.Width}.", nameof(gradient));
        }

        if (st.Updates == 0)
        {
            throw new InvalidOperationException($"Layer {layer} has no curvature estimate yet: call Update first.");
        }

        if (!FactorMath.AllFinite(gradient))
        {
            throw new ArgumentException("The gradient contains NaN or infinity.", nameof(gradient));
        }

        var qa = PreconditionerLayerState<T>.View(st.QA, d2, d2);
        var qg = PreconditionerLayerState<T>.View(st.QG, d1, d1);
        var t1 = PreconditionerLayerState<T>.View(st.Step1, d1, d2);
        var t2 = PreconditionerLayerState<T>.View(st.Step2, d1, d2);
        _backend.MatrixMultiply(qg, Transpose.Transpose, gradient, Transpose.None, t1, T.One, T.Zero);
        _backend.MatrixMultiply<T>(t1, Transpose.None, qa, Transpose.None, t2, T.One, T.Zero);
        Span<T> coefficients = st.Step2.AsSpan(0, d1 * d2);
        ReadOnlySpan<T> s = st.Scalings;
        for (int i = 0; i < coefficients.Length; i++)
        {
            coefficients[i] /= s[i] + _damping;
        }

        _backend.MatrixMultiply<T>(qg, Transpose.None, t2, Transpose.None, t1, T.One, T.Zero);
        _backend.MatrixMultiply<T>(t1, Transpose.None, qa, Transpose.Transpose, destination, T.One, T.Zero);
    }

    private PreconditionerLayerState<T> State(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, _states.Length);
        return _states[layer];
    }

    private static void Square(Span<T> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= values[i];
        }
    }
}
