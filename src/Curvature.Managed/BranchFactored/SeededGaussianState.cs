namespace Curvature.BranchFactored;

/// <summary>The complete state of a <see cref="SeededGaussian"/>: the four xoshiro256** words and the cached second normal of a polar pair.</summary>
/// <param name="S0">xoshiro256** word 0.</param>
/// <param name="S1">xoshiro256** word 1.</param>
/// <param name="S2">xoshiro256** word 2.</param>
/// <param name="S3">xoshiro256** word 3.</param>
/// <param name="HasSpare">Whether a normal value is cached.</param>
/// <param name="Spare">The cached normal value (meaningful when <paramref name="HasSpare"/>).</param>
public readonly record struct SeededGaussianState(ulong S0, ulong S1, ulong S2, ulong S3, bool HasSpare, double Spare);
