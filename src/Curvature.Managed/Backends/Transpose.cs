namespace Curvature.Backends;

/// <summary>Whether a GEMM operand is used as stored or transposed (BLAS <c>trans</c> argument).</summary>
public enum Transpose
{
    /// <summary>Use the operand as stored: op(X) = X.</summary>
    None = 0,

    /// <summary>Use the transpose of the operand: op(X) = Xᵀ.</summary>
    Transpose = 1,
}
