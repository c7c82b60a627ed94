namespace Curvature.Ekfac;

/// <summary>Progress of a pass over many batches, reported after each batch.</summary>
/// <param name="Phase">The pass.</param>
/// <param name="BatchesCompleted">Batches finished in this pass.</param>
public readonly record struct EkfacProgress(EkfacPhase Phase, int BatchesCompleted);
