namespace Curvature.Loss;

/// <summary>Which curvature the backpropagated vectors represent (curvlinops' <c>FisherType</c>).</summary>
public enum FisherType
{
    /// <summary>Exact GGN / Fisher via the columns of a symmetric square root of the loss Hessian (<c>"type-2"</c>).</summary>
    Type2 = 0,

    /// <summary>Monte-Carlo Fisher: gradients for labels sampled from the model's predictive distribution (<c>"mc"</c>).</summary>
    MonteCarlo = 1,

    /// <summary>Empirical Fisher: gradients for the data labels (<c>"empirical"</c>).</summary>
    Empirical = 2,

    /// <summary>Forward-only (FOOF / ISAAC): nothing is backpropagated and the gradient factor is the identity (<c>"forward-only"</c>).</summary>
    ForwardOnly = 3,
}
