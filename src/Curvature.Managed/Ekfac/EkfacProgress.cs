namespace Curvature.Ekfac;

/// <summary>Which pass over the data an EKFAC computation is in.</summary>
public enum EkfacPhase
{
    /// <summary>Pass 1: the K-FAC factors.</summary>
    Factors = 0,

    /// <summary>Pass 2: the corrected eigenvalues.</summary>
    Corrections = 1,
}

/// <summary>Progress of a pass over many batches, reported after each batch.</summary>
/// <param name="Phase">The pass.</param>
/// <param name="BatchesCompleted">Batches finished in this pass.</param>
public readonly record struct EkfacProgress(EkfacPhase Phase, int BatchesCompleted);
