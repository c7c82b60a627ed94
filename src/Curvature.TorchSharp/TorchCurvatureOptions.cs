namespace Curvature.TorchSharp;

/// <summary>How <see cref="TorchCurvature.Attach{T}"/> connects a module to a curvature optimizer.</summary>
public sealed record TorchCurvatureOptions
{
    /// <summary>Which Fisher the layers are observed with (default <see cref="TorchFisher.Empirical"/>, which works with any
    /// loss and costs no extra backward pass).</summary>
    public TorchFisher Fisher { get; init; } = TorchFisher.Empirical;

    /// <summary>True for separate weight and bias curvature blocks of Linear and Conv2d layers, false (the default) for joint
    /// <c>[W | b]</c> blocks (curvlinops' <c>separate_weight_and_bias</c>).</summary>
    public bool SeparateWeightAndBias { get; init; }
}
