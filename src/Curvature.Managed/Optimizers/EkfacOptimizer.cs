using System.Numerics;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers.Internals;
using Curvature.Parameters;

namespace Curvature.Optimizers;

/// <summary>
/// EKFAC (George et al. 2018) in a training loop: for Linear and Conv2d layers the Kronecker-factored eigenbasis of the
/// running K-FAC factors, refreshed every <see cref="EkfacOptimizerOptions.EigenbasisUpdatePeriod"/> steps (optionally in
/// the background), with eigenvalues corrected every statistics update from the per-example gradients (curvlinops'
/// eigenvalue correction) as a running average, damped exactly: <c>Q ((Qᵀ∇) / (s + λ)) Qᵀ</c>. Embeddings use K-FAC's
/// diagonal-input block with exact damping; normalisation scale and shift and plain parameters use diagonal blocks (for a
/// diagonal block the eigenvalue correction is the block itself). The step is <see cref="CurvatureOptimizer{T}"/>'s.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class EkfacOptimizer<T> : CurvatureOptimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="backend">The dense kernels.</param>
    /// <param name="model">The layers.</param>
    /// <param name="parameters">The model's parameters by name, updated in place by steps.</param>
    /// <param name="gradients">Where the caller writes each parameter's gradient before a step.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float or double.</exception>
    /// <exception cref="ArgumentException">A parameter or gradient is missing, of another shape or type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public EkfacOptimizer(CurvatureBackend backend, ModelSpec model, ParameterSet parameters, ParameterSet gradients, EkfacOptimizerOptions? options = null)
        : base(backend, model, parameters, gradients, options ??= new EkfacOptimizerOptions(), "Curvature.EkfacOptimizer", CreateBlockFactory(backend, options))
    {
        Options = options;
    }

    /// <summary>The settings.</summary>
    public EkfacOptimizerOptions Options { get; }

    private protected override int RefreshPeriod => Options.EigenbasisUpdatePeriod;

    private static Func<ModelSpec, int, int, int, CurvatureBlock<T>> CreateBlockFactory(CurvatureBackend backend, EkfacOptimizerOptions options) =>
        (model, layer, weightOffset, biasOffset) => model.Layers[layer].Kind switch
        {
            LayerKind.Linear or LayerKind.Conv2d => new EkfacLayerBlock<T>(backend, model, layer, weightOffset, biasOffset, options.CorrectionStrategy),
            LayerKind.Embedding => new EmbeddingBlock<T>(model, layer, weightOffset, DampingMode.Exact, options.MinDamping),
            LayerKind.BatchNorm or LayerKind.LayerNorm => new ScaleShiftBlock<T>(model, layer, weightOffset, biasOffset),
            _ => new DiagonalParameterBlock<T>(model, layer, weightOffset, options.Reduction == LossReduction.Sum),
        };
}
