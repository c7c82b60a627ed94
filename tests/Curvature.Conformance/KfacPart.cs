using Curvature.Backends;

namespace Curvature.Conformance;

/// <summary>The <c>kfac</c> part of the conformance runner.</summary>
public sealed class KfacPart : IConformancePart
{
    /// <inheritdoc />
    public string Name => "kfac";

    /// <inheritdoc />
    public bool AppliesTo(ReferenceCase referenceCase) => referenceCase.Kind == "kfac_ekfac";

    /// <inheritdoc />
    public PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend) => PartResult.NotImplemented(Name);
}
