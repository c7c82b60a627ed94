namespace Curvature.Models;

/// <summary>One named parameter of a <see cref="ModelSpec"/> and where it lives in the flat parameter vector.</summary>
/// <param name="Name">Parameter name, <c>&lt;layer&gt;.weight</c> or <c>&lt;layer&gt;.bias</c>.</param>
/// <param name="Shape">The parameter's tensor shape.</param>
/// <param name="Offset">Index of its first entry in the flat parameter vector (parameters concatenated, row-major).</param>
/// <param name="Length">Number of entries.</param>
/// <param name="LayerIndex">Index of its layer in <see cref="ModelSpec.Layers"/>.</param>
/// <param name="IsBias">True for a bias, false for a weight.</param>
public sealed record ParameterSpec(string Name, int[] Shape, int Offset, int Length, int LayerIndex, bool IsBias);
