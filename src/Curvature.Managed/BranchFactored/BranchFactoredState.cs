namespace Curvature.BranchFactored;

/// <summary>What a <see cref="BranchFactoredPreconditioner{T}"/> reports after a step.</summary>
/// <param name="Steps">Number of completed steps since the last initialisation.</param>
/// <param name="PreconditionedGradientNorm">Euclidean norm of the preconditioned gradient <c>P v</c> of the last step (or of the
/// plain gradient on the fallback path), before the learning rate and clipping; null before the first step.</param>
/// <param name="UsedBranches">Whether the last step used branch samples (false: it fell back to the plain gradient).</param>
public readonly record struct BranchFactoredState(long Steps, double? PreconditionedGradientNorm, bool UsedBranches);
