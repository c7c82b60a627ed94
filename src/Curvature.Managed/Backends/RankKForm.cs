namespace Curvature.Backends;

/// <summary>The product a symmetric rank-k update (?SYRK) accumulates.</summary>
public enum RankKForm
{
    /// <summary>C ← α·AᵀA + β·C for A of shape k × n (the Kronecker-factor form: rows are samples).</summary>
    TransposeTimesMatrix = 0,

    /// <summary>C ← α·AAᵀ + β·C for A of shape n × k.</summary>
    MatrixTimesTranspose = 1,
}
