using Curvature.Backends;

namespace Curvature.Conformance;

/// <summary>The outcome of checking one part of one case.</summary>
/// <param name="Passed">True when every checked quantity is within tolerance.</param>
/// <param name="WorstRelativeError">The largest relative error seen (NaN when nothing was compared).</param>
/// <param name="Detail">A short explanation: what failed, or what was skipped deliberately and why.</param>
public sealed record PartResult(bool Passed, double WorstRelativeError, string Detail)
{
    /// <summary>A failure for a part that does not exist yet (never a pass, never a silent skip).</summary>
    public static PartResult NotImplemented(string part) => new(false, double.NaN, $"{part}: not implemented");
}

/// <summary>One part of the conformance runner (<c>kfac</c>, <c>ekfac</c>, <c>adafisher</c>).</summary>
public interface IConformancePart
{
    /// <summary>The part's name as given to <c>--only</c>.</summary>
    string Name { get; }

    /// <summary>True when the case holds quantities for this part.</summary>
    bool AppliesTo(ReferenceCase referenceCase);

    /// <summary>Checks every quantity of the case that belongs to this part.</summary>
    PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend);
}
