using Curvature.Backends;

namespace Curvature.Conformance;

/// <summary>The <c>adafisher</c> part of the conformance runner.</summary>
public sealed class AdaFisherPart : IConformancePart
{
    /// <inheritdoc />
    public string Name => "adafisher";

    /// <inheritdoc />
    public bool AppliesTo(ReferenceCase referenceCase) => referenceCase.Kind == "adafisher_replay";

    /// <inheritdoc />
    public PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend) => PartResult.NotImplemented(Name);
}
