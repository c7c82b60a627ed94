namespace Curvature.AdaFisher;

/// <summary>Per-parameter curvature bookkeeping of an AdaFisher optimizer.</summary>
/// <param name="BlockCount">Number of Fisher blocks for the parameter (1 for a layer's diagonal Kronecker block).</param>
/// <param name="UpdateCount">How many times the parameter's Fisher estimate was refreshed.</param>
/// <param name="AverageBlockSize">Parameter length divided by <paramref name="BlockCount"/>.</param>
public readonly record struct AdaFisherParameterStatistics(int BlockCount, long UpdateCount, double AverageBlockSize);
