using System.Numerics;

namespace Curvature.TorchSharp;

/// <summary>
/// Receives, once per recorded forward pass and layer, the layer input <c>a</c> and the output gradients <c>g</c> the
/// bridge captured (the same arguments <see cref="Kfac.KfacFactorBuilder{T}"/>'s <c>AccumulateLayer</c> takes).
/// </summary>
/// <typeparam name="T"><see cref="float"/> for float32 modules, <see cref="double"/> for float64 modules.</typeparam>
public interface ILayerObserver<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Observes one layer of one batch. The spans are only valid during the call (the bridge reuses them).</summary>
    /// <param name="layerName">The layer's module path (<see cref="TorchLayer.Name"/>).</param>
    /// <param name="a">
    /// The layer input as the forward pass saw it, row-major: Linear <c>[N, D_in]</c> or <c>[N, S…, D_in]</c>; Conv2d
    /// <c>[N, C_in, H, W]</c>; BatchNorm and LayerNorm the normalised input x̂ (the input of the scale and shift, with the
    /// layer's ε and the statistics of its mode: batch statistics in training, running statistics in evaluation);
    /// Embedding the integer indices <c>[N, S…]</c> as exact whole numbers.
    /// </param>
    /// <param name="aShape">The shape of <paramref name="a"/>.</param>
    /// <param name="g">
    /// The gradients at the layer output, <c>[V, N, …layer output shape]</c> row-major: one slice per backpropagated vector
    /// (V = 1 for the gradient of the training loss). Empty when nothing was backpropagated (forward-only Fisher).
    /// </param>
    /// <param name="gShape">The shape of <paramref name="g"/> (empty when <paramref name="g"/> is).</param>
    void Observe(string layerName, ReadOnlySpan<T> a, ReadOnlySpan<int> aShape, ReadOnlySpan<T> g, ReadOnlySpan<int> gShape);
}
