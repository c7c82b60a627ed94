namespace Curvature.Models;

/// <summary>How weight sharing (sequence positions, convolution locations) enters the factors (curvlinops' <c>KFACType</c>).</summary>
public enum WeightSharing
{
    /// <summary>K-FAC-expand: every shared position is a sample (<c>A = Σ x xᵀ / (N·S)</c>).</summary>
    Expand = 0,

    /// <summary>K-FAC-reduce (Eschenhagen et al. 2023): inputs averaged and gradients summed over positions first.</summary>
    Reduce = 1,
}
