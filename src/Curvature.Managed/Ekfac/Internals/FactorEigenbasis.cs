using System.Numerics;
using Curvature.Internals;

namespace Curvature.Ekfac.Internals;

/// <summary>Eigenvectors (columns) and ascending eigenvalues of a block's two factors, staged before a commit.</summary>
internal sealed record FactorEigenbasis<T>(AlignedBuffer<T> GradientVectors, T[] GradientValues, AlignedBuffer<T> InputVectors, T[] InputValues)
    where T : unmanaged, IFloatingPointIeee754<T>;
