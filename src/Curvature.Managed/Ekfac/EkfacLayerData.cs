using System.Numerics;

namespace Curvature.Ekfac;

/// <summary>One layer's data of one batch, in the raw layout of <see cref="Kfac.KfacFactorBuilder{T}.AccumulateLayer(string, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{int})"/>.</summary>
/// <param name="LayerName">The layer's name.</param>
/// <param name="Input">The layer input <c>a</c>, row-major.</param>
/// <param name="InputShape">Shape of <c>a</c>.</param>
/// <param name="Gradients">The output gradients <c>g</c> (<c>[V, N_b, …]</c>), row-major.</param>
/// <param name="GradientShape">Shape of <c>g</c>.</param>
public sealed record EkfacLayerData<T>(string LayerName, T[] Input, int[] InputShape, T[] Gradients, int[] GradientShape)
    where T : unmanaged, IFloatingPointIeee754<T>;
