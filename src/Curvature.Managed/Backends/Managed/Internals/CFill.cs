namespace Curvature.Backends.Managed.Internals;

/// <summary>Which elements of the output C a packed product writes.</summary>
internal enum CFill
{
    /// <summary>Every element.</summary>
    Full = 0,

    /// <summary>Only elements (i, j) with j ≤ i; the rest is neither read nor written.</summary>
    Lower = 1,

    /// <summary>Only elements (i, j) with j ≥ i; the rest is neither read nor written.</summary>
    Upper = 2,
}
