using System.Numerics;

namespace Curvature.Optimizers;

/// <summary>
/// Curvature-vector products supplied by the caller for the quadratic model (e.g. Gauss-Newton-vector products
/// <c>Jᵀ H J v</c> computed by the training framework on the current batch), in the optimizer's flat parameter layout
/// (<see cref="Models.ModelSpec.Parameters"/> order, each tensor row-major).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface ICurvatureProducts<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Writes <c>C·v</c> into <paramref name="result"/>, where C is the curvature of the same loss (and reduction)
    /// whose gradient the optimizer steps on, without damping or weight decay.</summary>
    /// <param name="vector">v, of the model's <see cref="Models.ModelSpec.Dimension"/>.</param>
    /// <param name="result">Receives C·v; same length; does not overlap <paramref name="vector"/>.</param>
    void Multiply(ReadOnlySpan<T> vector, Span<T> result);
}
