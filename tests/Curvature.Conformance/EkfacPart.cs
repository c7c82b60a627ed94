using System.Text.Json;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Ekfac;
using Curvature.Kfac;

namespace Curvature.Conformance;

/// <summary>
/// The <c>ekfac</c> part of the conformance runner. For each case with EKFAC data: rebuilds the K-FAC factors from the
/// <c>a</c>, <c>g</c> (stored in the case, or recomputed by an <see cref="ILayerDataSource"/>); checks Curvature's own eigendecomposition (eigenvalues reconstruct the factor; eigenvectors
/// equal the stored ones up to sign where the case's relative eigengap is large); then, as FORMAT.md §3.7 advises, imposes
/// the <b>stored</b> eigenvectors (degenerate eigenspaces make any basis valid) and checks λ with both correction
/// strategies, EKFAC·M, trace, Frobenius norm, log-determinant (where well defined) and the damped inverse.
/// Cases whose model output has more than 2 dims (<c>"ekfac": null</c>) must be rejected with
/// <see cref="NotSupportedException"/>, as curvlinops rejects them.
/// </summary>
public sealed class EkfacPart : IConformancePart
{
    private readonly ILayerDataSource _source;

    /// <summary>Checks EKFAC with the layer data of <paramref name="source"/> (the case file's when null).</summary>
    public EkfacPart(ILayerDataSource? source = null) => _source = source ?? StoredLayerData.Instance;

    /// <summary>Tolerance for λ, products, trace, norm and log-determinant.</summary>
    public const double Tolerance = 1e-10;

    /// <summary>Tolerance for the damped inverse.</summary>
    public const double InverseTolerance = 1e-9;

    /// <summary>Relative eigengap above which own eigenvectors are compared with the stored ones.</summary>
    public const double EigengapThreshold = 1e-6;

    /// <inheritdoc />
    public string Name => "ekfac";

    /// <inheritdoc />
    public bool AppliesTo(ReferenceCase referenceCase) => referenceCase.Kind == "kfac_ekfac";

    /// <inheritdoc />
    public PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend)
    {
        var kc = KfacCase.From(referenceCase);
        var root = referenceCase.Root;
        var ekfac = root.GetProperty("ekfac");
        if (ekfac.ValueKind == JsonValueKind.Null)
        {
            return RunUnsupported(kc, root, backend);
        }

        var checks = new KfacChecks();
        var layerData = _source.Collect(kc, checks);
        if (!checks.Passed)
        {
            return new PartResult(false, checks.Worst, checks.Summary(Name));
        }

        var factors = kc.BuildFactors(backend, layerData);
        var refBlocks = ekfac.GetProperty("blocks").EnumerateArray().ToList();
        var kfacBlocks = root.GetProperty("kfac").GetProperty("blocks").EnumerateArray().ToList();
        if (refBlocks.Count != kc.Model.Blocks.Count)
        {
            return new PartResult(false, double.NaN, $"{Name}: the case has {refBlocks.Count} EKFAC blocks, the model {kc.Model.Blocks.Count}");
        }

        // Own eigenbasis.
        var own = new EkfacBuilder<double>(backend, kc.Model, kc.Options);
        own.SetFactors(factors);
        for (int i = 0; i < refBlocks.Count; i++)
        {
            var b = own.Blocks[i];
            CheckEigen(checks, $"G[{i}]", b.GradientCovariance, b.GradientEigenvectors, b.GradientEigenvalues,
                Tensor.From(refBlocks[i].GetProperty("gradient_eigenvectors")), kfacBlocks[i].GetProperty("gradient_covariance_min_rel_eigengap").GetDoubleOrNaN());
            var refQa = refBlocks[i].GetProperty("input_eigenvectors");
            if (refQa.ValueKind == JsonValueKind.Null != !b.Layout.HasInputFactor)
            {
                checks.Fail($"block {i}: input eigenvectors present in the case and in Curvature's block differ");
                continue;
            }

            if (b.Layout.HasInputFactor)
            {
                CheckEigen(checks, $"A[{i}]", b.InputCovariance, b.InputEigenvectors, b.InputEigenvalues,
                    Tensor.From(refQa), kfacBlocks[i].GetProperty("input_covariance_min_rel_eigengap").GetDoubleOrNaN());
            }
        }

        if (!checks.Passed)
        {
            return new PartResult(false, checks.Worst, checks.Summary(Name));
        }

        // λ and products in the stored eigenbasis, with both strategies.
        EkfacOperator<double>? op = null;
        foreach (var strategy in new[] { EkfacCorrectionStrategy.PerExampleGradients, EkfacCorrectionStrategy.Gramian, EkfacCorrectionStrategy.Automatic })
        {
            var builder = new EkfacBuilder<double>(backend, kc.Model, kc.Options, strategy);
            builder.SetFactors(factors);
            for (int i = 0; i < refBlocks.Count; i++)
            {
                Set(builder.Blocks[i].GradientEigenvectors, Tensor.From(refBlocks[i].GetProperty("gradient_eigenvectors")).Data);
                if (builder.Blocks[i].Layout.HasInputFactor)
                {
                    Set(builder.Blocks[i].InputEigenvectors, Tensor.From(refBlocks[i].GetProperty("input_eigenvectors")).Data);
                }
            }

            foreach (var batch in layerData)
            {
                for (int li = 0; li < kc.Model.Layers.Count; li++)
                {
                    var io = batch[kc.Model.Layers[li].Name];
                    builder.AccumulateLayer(li, io.A, io.AShape, io.G, io.GShape);
                }
            }

            string tag = strategy == EkfacCorrectionStrategy.Automatic ? "" : $"[{strategy}]";
            for (int i = 0; i < refBlocks.Count; i++)
            {
                checks.Compare($"lambda{tag}[{i}]", Flat(builder.Blocks[i].CorrectedEigenvalues), Tensor.From(refBlocks[i].GetProperty("corrected_eigenvalues")).Data, Tolerance);
            }

            op = builder.ToOperator();
        }

        int dim = kc.Model.Dimension;
        var (m, k) = kc.Flatten(root.GetProperty("M"));
        var result = new double[m.Length];
        op!.Multiply(new ReadOnlySpan2D<double>(m, dim, k), new Span2D<double>(result, dim, k));
        checks.Compare("matmat", result, kc.Flatten(ekfac.GetProperty("matmat")).Data, Tolerance);
        checks.Compare("trace", op.Trace(), ekfac.GetProperty("trace").GetDouble(), Tolerance);
        checks.Compare("frobenius_norm", op.FrobeniusNorm(), ekfac.GetProperty("frobenius_norm").GetDouble(), Tolerance);
        if (ekfac.GetProperty("logdet_well_defined").GetBoolean())
        {
            checks.Compare("logdet", op.LogDeterminant(), ekfac.GetProperty("logdet").GetDouble(), Tolerance);
        }

        var inverse = ekfac.GetProperty("inverse");
        var inv = op.Inverse(inverse.GetProperty("damping").GetDouble());
        inv.Multiply(new ReadOnlySpan2D<double>(m, dim, k), new Span2D<double>(result, dim, k));
        checks.Compare("inverse", result, kc.Flatten(inverse.GetProperty("matmat")).Data, InverseTolerance);
        return new PartResult(checks.Passed, checks.Worst, checks.Summary(Name));
    }

    private PartResult RunUnsupported(KfacCase kc, JsonElement root, CurvatureBackend backend)
    {
        string reason = root.TryGetProperty("ekfac_unsupported", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "(no reason given)";
        try
        {
            _ = new EkfacBuilder<double>(backend, kc.Model, kc.Options);
        }
        catch (NotSupportedException e)
        {
            return new PartResult(true, 0, $"unsupported by reference ({reason}): rejected with NotSupportedException: {e.Message}");
        }

        return new PartResult(false, double.NaN, $"{Name}: the reference does not support this case ({reason}), but Curvature accepted it");
    }

    /// <summary>Own eigenvalues reconstruct the factor; own eigenvectors equal the stored ones up to sign where the gap is large.</summary>
    private static void CheckEigen(KfacChecks checks, string name, Span2D<double> factor, Span2D<double> q, ReadOnlySpan<double> w, Tensor stored, double gap)
    {
        int n = factor.Height;
        var recon = new double[n * n];
        var f = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int l = 0; l < n; l++)
                {
                    s += q[i, l] * w[l] * q[j, l];
                }

                recon[(i * n) + j] = s;
                f[(i * n) + j] = factor[i, j];
            }
        }

        checks.Compare($"eigen_reconstruction {name}", recon, f, Tolerance);
        if (!(gap > EigengapThreshold))
        {
            return; // degenerate eigenspace: any rotation is valid; λ uses the stored basis
        }

        var aligned = new double[n * n];
        for (int col = 0; col < n; col++)
        {
            double dot = 0;
            for (int i = 0; i < n; i++)
            {
                dot += q[i, col] * stored.Data[(i * n) + col];
            }

            double sign = dot < 0 ? -1 : 1;
            for (int i = 0; i < n; i++)
            {
                aligned[(i * n) + col] = sign * q[i, col];
            }
        }

        checks.Compare($"eigenvectors {name}", aligned, stored.Data, Math.Max(1e-9, 1e-13 / gap));
    }

    private static void Set(Span2D<double> destination, double[] rowMajor)
    {
        if (rowMajor.Length != destination.Length)
        {
            throw new InvalidOperationException($"Stored eigenvectors have {rowMajor.Length} entries; the block needs {destination.Length}.");
        }

        new Span2D<double>(rowMajor, destination.Height, destination.Width).CopyTo(destination);
    }

    private static double[] Flat(Span2D<double> m) => m.ToArray().Cast<double>().ToArray();
}
