namespace Curvature.TorchSharp;

/// <summary>
/// A trainable parameter of a TorchSharp module that belongs to no captured layer (a generic parameter: it has a gradient
/// but no Kronecker structure), with the reason it is not part of a supported layer.
/// </summary>
/// <param name="Name">The parameter's name as <c>named_parameters()</c> reports it, e.g. <c>"head.scale"</c>.</param>
/// <param name="Shape">The parameter's shape.</param>
/// <param name="Reason">Why it is generic, e.g. <c>"Conv1d is not a supported layer type"</c>.</param>
public sealed record TorchParameter(string Name, IReadOnlyList<int> Shape, string Reason)
{
    /// <summary>Number of elements.</summary>
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}
