namespace Curvature.Ekfac;

/// <summary>Which pass over the data an EKFAC computation is in.</summary>
public enum EkfacPhase
{
    /// <summary>Pass 1: the K-FAC factors.</summary>
    Factors = 0,

    /// <summary>Pass 2: the corrected eigenvalues.</summary>
    Corrections = 1,
}
