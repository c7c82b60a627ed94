namespace Curvature.Loss;

/// <summary>How per-element losses are combined (PyTorch's <c>reduction</c>).</summary>
public enum LossReduction
{
    /// <summary>Average over all elements (<c>"mean"</c>).</summary>
    Mean = 0,

    /// <summary>Sum over all elements (<c>"sum"</c>).</summary>
    Sum = 1,
}
