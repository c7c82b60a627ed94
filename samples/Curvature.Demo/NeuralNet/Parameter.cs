namespace Curvature.Demo.NeuralNet;

/// <summary>One trainable tensor, flattened row-major, with its gradient buffer of the same length.</summary>
/// <param name="Name">E.g. <c>layer2.weight</c>.</param>
/// <param name="Values">The parameter values.</param>
/// <param name="Gradient">The gradient of the loss of the last <see cref="Model.ComputeLossAndGradients"/> call.</param>
public sealed record Parameter(string Name, Memory<double> Values, Memory<double> Gradient);
