namespace Curvature.Kfac;

/// <summary>Which parameters of a layer one Kronecker block covers.</summary>
public enum KfacBlockParameters
{
    /// <summary>Weight and bias jointly: <c>[W | b]</c>, the bias as an extra input feature of constant 1.</summary>
    WeightAndBias = 0,

    /// <summary>The weight alone.</summary>
    Weight = 1,

    /// <summary>The bias alone: a single factor <c>G</c>.</summary>
    Bias = 2,
}
