using System.Numerics;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using static TorchSharp.torch;

namespace Curvature.TorchSharp;

/// <summary>Attaches a Curvature optimizer (K-FAC, EKFAC, AdaFisher) to a TorchSharp module.</summary>
public static class TorchCurvature
{
    /// <summary>
    /// Describes <paramref name="module"/> (every trainable parameter: Linear, Conv2d, BatchNorm1d/2d, LayerNorm and
    /// Embedding layers, anything else as a plain parameter), binds the parameters' own memory and Curvature-owned gradient
    /// buffers, creates the optimizer with <paramref name="create"/> and hooks the layers it observes.
    /// </summary>
    /// <example>
    /// <code>
    /// using var kfac = TorchCurvature.Attach(model, (spec, values, grads) =&gt; new KfacOptimizer&lt;float&gt;(backend, spec, values, grads));
    /// </code>
    /// </example>
    /// <param name="module">The model (float32 parameters for <c>float</c>, float64 for <c>double</c>, on the CPU). Freeze
    /// parameters (<c>requires_grad = false</c>) before attaching: only the trainable ones are bound.</param>
    /// <param name="create">Creates the optimizer for the model description and the two parameter sets it gets (pass them
    /// through unchanged). The returned optimizer is owned by the result and disposed with it.</param>
    /// <param name="options">The Fisher to observe with and the bias blocks; null for the defaults (empirical Fisher, joint
    /// <c>[W | b]</c> blocks).</param>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>, inferred from the optimizer.</typeparam>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double, or two parameters share
    /// memory (tied weights).</exception>
    /// <exception cref="ArgumentException">The module itself is a single layer (wrap it in <c>nn.Sequential</c>), has no
    /// trainable parameter, or a parameter is not a contiguous CPU tensor of <typeparamref name="T"/>'s element type; or
    /// <paramref name="create"/> built the optimizer for another model.</exception>
    public static TorchCurvatureOptimizer<T> Attach<T>(nn.Module module, Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<T>> create, TorchCurvatureOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(module, create, options ?? new TorchCurvatureOptions());
}
