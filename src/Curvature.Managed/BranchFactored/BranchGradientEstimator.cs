using System.Numerics;
using Curvature.Parameters;

namespace Curvature.BranchFactored;

/// <summary>
/// Supplies the gradient for a step (capture the model in the delegate's closure). Write the gradient into <paramref name="gradient"/>, laid out like the parameters'
/// <see cref="ParameterSet.Layout"/>; it is zero-filled on entry.
/// </summary>
/// <typeparam name="T">The vector element type.</typeparam>
/// <param name="parameters">The current parameters.</param>
/// <param name="context">The step's context.</param>
/// <param name="gradient">Destination, of the layout's total length.</param>
public delegate void BranchGradientEstimator<T>(ParameterSet parameters, BranchStepContext<T> context, Span<T> gradient)
    where T : unmanaged, IFloatingPointIeee754<T>;
