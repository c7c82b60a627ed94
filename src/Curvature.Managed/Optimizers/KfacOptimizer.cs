using System.Numerics;
using Curvature.Backends;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers.Internals;
using Curvature.Parameters;

namespace Curvature.Optimizers;

/// <summary>
/// K-FAC (Martens &amp; Grosse 2015; Grosse &amp; Martens 2016 for convolutions) in a training loop: Kronecker-factored
/// blocks <c>G ⊗ A</c> for Linear and Conv2d layers (factors exactly as curvlinops and <see cref="Kfac.KfacFactorBuilder{T}"/>
/// compute them for each batch, kept as bias-corrected moving averages), a diagonal-input Kronecker block for embeddings,
/// diagonal Fisher blocks for normalisation scale and shift and for plain parameters; damped inverses refreshed every
/// <see cref="KfacOptimizerOptions.InverseUpdatePeriod"/> steps (optionally in the background). The step is
/// <see cref="CurvatureOptimizer{T}"/>'s.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class KfacOptimizer<T> : CurvatureOptimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="backend">The dense kernels.</param>
    /// <param name="model">The layers.</param>
    /// <param name="parameters">The model's parameters by name (<see cref="ModelSpec.Parameters"/>), updated in place by
    /// <see cref="CurvatureOptimizer{T}.Step(double, Func{double}?, CancellationToken)"/>.</param>
    /// <param name="gradients">Where the caller writes each parameter's gradient before a step (same names and shapes).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float or double.</exception>
    /// <exception cref="ArgumentException">A parameter or gradient is missing, of another shape or type, or values and
    /// gradient overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public KfacOptimizer(CurvatureBackend backend, ModelSpec model, ParameterSet parameters, ParameterSet gradients, KfacOptimizerOptions? options = null)
        : base(backend, model, parameters, gradients, options ??= new KfacOptimizerOptions(), "Curvature.KfacOptimizer", CreateBlockFactory(backend, options))
    {
        Options = options;
    }

    /// <summary>The settings.</summary>
    public KfacOptimizerOptions Options { get; }

    private protected override int RefreshPeriod => Options.InverseUpdatePeriod;

    private static Func<ModelSpec, int, int, int, CurvatureBlock<T>> CreateBlockFactory(CurvatureBackend backend, KfacOptimizerOptions options) =>
        (model, layer, weightOffset, biasOffset) => model.Layers[layer].Kind switch
        {
            LayerKind.Linear or LayerKind.Conv2d => new KfacLayerBlock<T>(backend, model, layer, weightOffset, biasOffset, options.DampingMode, options.MinDamping),
            LayerKind.Embedding => new EmbeddingBlock<T>(model, layer, weightOffset, options.DampingMode, options.MinDamping),
            LayerKind.BatchNorm or LayerKind.LayerNorm => new ScaleShiftBlock<T>(model, layer, weightOffset, biasOffset),
            _ => new DiagonalParameterBlock<T>(model, layer, weightOffset, options.Reduction == LossReduction.Sum),
        };
}
