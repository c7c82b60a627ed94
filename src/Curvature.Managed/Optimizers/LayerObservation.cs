using System.Numerics;

namespace Curvature.Optimizers;

/// <summary>
/// One layer's observation for <see cref="CurvatureOptimizer{T}.ObserveAll(ReadOnlySpan{LayerObservation{T}})"/>: the layer
/// input and the output gradients with their shapes, exactly as <see cref="CurvatureOptimizer{T}.Observe(string, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/>
/// takes them. Keep an array of these and update its buffers in place to observe every layer without allocating.
/// </summary>
/// <param name="Layer">The layer's name in the model.</param>
/// <param name="Input">The layer input <c>a</c>, row-major.</param>
/// <param name="InputShape">Its shape.</param>
/// <param name="OutputGradients">The output gradients <c>g</c>, row-major.</param>
/// <param name="OutputGradientShape">Their shape (leading axis V, the number of backpropagated vectors).</param>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public readonly record struct LayerObservation<T>(string Layer, ReadOnlyMemory<T> Input, int[] InputShape, ReadOnlyMemory<T> OutputGradients, int[] OutputGradientShape)
    where T : unmanaged, IFloatingPointIeee754<T>;
