namespace Curvature.Loss;

/// <summary>The losses whose Fisher / GGN vectors Curvature can produce (PyTorch semantics).</summary>
public enum LossFunction
{
    /// <summary><c>nn.MSELoss</c>: squared error <c>Σ(f − y)²</c> (Hessian 2I; not the ½-scaled variant).</summary>
    MeanSquaredError = 0,

    /// <summary><c>nn.CrossEntropyLoss</c> on logits with integer class targets.</summary>
    CrossEntropy = 1,

    /// <summary><c>nn.BCEWithLogitsLoss</c> on logits with targets in [0, 1].</summary>
    BinaryCrossEntropyWithLogits = 2,
}
