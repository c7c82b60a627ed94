using Curvature.Backends;

namespace Curvature.Conformance;

/// <summary>The <c>ekfac</c> part of the conformance runner.</summary>
public sealed class EkfacPart : IConformancePart
{
    /// <inheritdoc />
    public string Name => "ekfac";

    /// <inheritdoc />
    public bool AppliesTo(ReferenceCase referenceCase) => referenceCase.Kind == "kfac_ekfac";

    /// <inheritdoc />
    public PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend) => PartResult.NotImplemented(Name);
}
