using System.Text.Json;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Loss;

namespace Curvature.Conformance;

/// <summary>
/// The <c>kfac</c> part of the conformance runner: rebuilds the K-FAC factors from each case's layer inputs and output
/// gradients (stored in the case, or recomputed by an <see cref="ILayerDataSource"/>) and checks every K-FAC quantity the case holds (factors, K·M, trace, Frobenius norm, log-determinant
/// where well defined, the three damped inverses) and the loss-side vectors (type-2, empirical) against the stored
/// last-layer gradients. Relative error per quantity: <c>max|x − ref| / max(max|ref|, tiny)</c>; tolerance 1e-10
/// (inverses 1e-9), float64.
/// </summary>
public sealed class KfacPart : IConformancePart
{
    private readonly ILayerDataSource _source;

    /// <summary>Checks K-FAC with the layer data of <paramref name="source"/> (the case file's when null).</summary>
    public KfacPart(ILayerDataSource? source = null) => _source = source ?? StoredLayerData.Instance;

    /// <summary>Tolerance for factors, products, trace, norm, log-determinant and loss vectors.</summary>
    public const double Tolerance = 1e-10;

    /// <summary>Tolerance for inverses.</summary>
    public const double InverseTolerance = 1e-9;

    /// <inheritdoc />
    public string Name => "kfac";

    /// <inheritdoc />
    public bool AppliesTo(ReferenceCase referenceCase) => referenceCase.Kind == "kfac_ekfac";

    /// <inheritdoc />
    public PartResult Run(ReferenceCase referenceCase, CurvatureBackend backend)
    {
        var kc = KfacCase.From(referenceCase);
        var checks = new KfacChecks();
        var root = referenceCase.Root;
        var kfac = root.GetProperty("kfac");
        var model = kc.Model;

        CheckStructure(kc, root, checks);
        if (!checks.Passed)
        {
            return new PartResult(false, double.NaN, checks.Summary(Name));
        }

        var builder = kc.BuildFactors(backend, _source.Collect(kc, checks));
        if (!checks.Passed)
        {
            return new PartResult(false, checks.Worst, checks.Summary(Name));
        }

        var blocks = kfac.GetProperty("blocks").EnumerateArray().ToList();
        for (int i = 0; i < blocks.Count; i++)
        {
            var refG = Tensor.From(blocks[i].GetProperty("gradient_covariance"));
            checks.Compare($"G[{i}]", Flat(builder.Blocks[i].GradientCovariance), refG.Data, Tolerance);
            var refA = blocks[i].GetProperty("input_covariance");
            if (refA.ValueKind == JsonValueKind.Null)
            {
                if (builder.Blocks[i].Layout.HasInputFactor)
                {
                    checks.Fail($"block {i}: the case has no input factor but Curvature's block has one");
                }
            }
            else
            {
                checks.Compare($"A[{i}]", Flat(builder.Blocks[i].InputCovariance), Tensor.From(refA).Data, Tolerance);
            }
        }

        var op = builder.ToOperator();
        int dim = model.Dimension;
        var (m, k) = kc.Flatten(root.GetProperty("M"));
        var result = new double[m.Length];
        op.Multiply(new ReadOnlySpan2D<double>(m, dim, k), new Span2D<double>(result, dim, k));
        checks.Compare("matmat", result, kc.Flatten(kfac.GetProperty("matmat")).Data, Tolerance);
        checks.Compare("trace", op.Trace(), kfac.GetProperty("trace").GetDouble(), Tolerance);
        checks.Compare("frobenius_norm", op.FrobeniusNorm(), kfac.GetProperty("frobenius_norm").GetDouble(), Tolerance);
        if (kfac.GetProperty("logdet_well_defined").GetBoolean())
        {
            checks.Compare("logdet", op.LogDeterminant(), kfac.GetProperty("logdet").GetDouble(), Tolerance);
        }

        var inverse = kfac.GetProperty("inverse");
        CheckInverse("inverse", op, KfacInverseOptions.Plain(inverse.GetProperty("damping").GetDouble()), inverse, kc, m, k, checks);
        var heuristic = inverse.GetProperty("heuristic");
        CheckInverse("inverse.heuristic", op, KfacInverseOptions.Heuristic(heuristic.GetProperty("damping").GetDouble(), heuristic.GetProperty("min_damping").GetDouble()), heuristic, kc, m, k, checks);
        var exact = inverse.GetProperty("exact");
        CheckInverse("inverse.exact", op, KfacInverseOptions.Exact(exact.GetProperty("damping").GetDouble()), exact, kc, m, k, checks);

        CheckLossVectors(kc, checks);
        return new PartResult(checks.Passed, checks.Worst, checks.Summary(Name));
    }

    private static void CheckStructure(KfacCase kc, JsonElement root, KfacChecks checks)
    {
        var model = kc.Model;
        var ps = Tensor.ListFrom(root.GetProperty("params"));
        if (ps.Count != model.Parameters.Count)
        {
            checks.Fail($"the case has {ps.Count} parameters, the model {model.Parameters.Count}");
            return;
        }

        for (int i = 0; i < ps.Count; i++)
        {
            if (ps[i].Name != model.Parameters[i].Name || !ps[i].Tensor.Shape.SequenceEqual(model.Parameters[i].Shape))
            {
                checks.Fail($"parameter {i} is '{ps[i].Name}' in the case but '{model.Parameters[i].Name}' in the model");
            }
        }

        var groups = root.GetProperty("param_groups").EnumerateArray().ToList();
        if (groups.Count != model.Blocks.Count)
        {
            checks.Fail($"the case has {groups.Count} parameter groups, the model {model.Blocks.Count} blocks");
            return;
        }

        for (int i = 0; i < groups.Count; i++)
        {
            var expected = model.Blocks[i].Group;
            var actual = groups[i].EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            if (actual.Count != expected.Count || actual.Any(kv => !expected.TryGetValue(kv.Key, out var v) || v != kv.Value))
            {
                checks.Fail($"parameter group {i} differs from block {model.Blocks[i]}");
            }
        }
    }

    private static void CheckInverse(string name, KfacOperator<double> op, KfacInverseOptions options, JsonElement reference, KfacCase kc, double[] m, int k, KfacChecks checks)
    {
        int dim = op.Dimension;
        var inv = op.Inverse(options);
        var result = new double[m.Length];
        inv.Multiply(new ReadOnlySpan2D<double>(m, dim, k), new Span2D<double>(result, dim, k));
        checks.Compare(name, result, kc.Flatten(reference.GetProperty("matmat")).Data, InverseTolerance);
    }

    /// <summary>For type-2 and empirical: the vectors computed from (output, y) must equal the stored last-layer g.</summary>
    private static void CheckLossVectors(KfacCase kc, KfacChecks checks)
    {
        if (kc.Fisher == FisherType.MonteCarlo)
        {
            CheckMonteCarloStructure(kc, checks);
            return;
        }

        if (kc.Fisher is not (FisherType.Type2 or FisherType.Empirical))
        {
            return;
        }

        string last = kc.Model.Layers[^1].Name;
        for (int b = 0; b < kc.Batches.Count; b++)
        {
            var batch = kc.Batches[b];
            var output = Tensor.From(batch.GetProperty("output"));
            var y = Tensor.From(batch.GetProperty("y"));
            var g = Tensor.From(batch.GetProperty("layers").GetProperty(last).GetProperty("g"));
            bool classesSecond = kc.Loss == LossFunction.CrossEntropy && output.Shape.Length > 2;
            var (rows, r, c) = LossRows.ToRows(output.Data, output.Shape, classesSecond);
            int v = BackpropagatedVectors.Count(kc.Fisher, c, kc.McSamples);
            var vectors = new double[v * r * c];
            if (kc.Loss == LossFunction.CrossEntropy)
            {
                var classes = y.Data.Select(x => (int)x).ToArray();
                BackpropagatedVectors.ComputeCrossEntropy(kc.Reduction, kc.Fisher, new ReadOnlySpan2D<double>(rows, r, c), classes, vectors, kc.McSamples);
            }
            else
            {
                var (targets, _, _) = LossRows.ToRows(y.Data, y.Shape, false);
                BackpropagatedVectors.Compute(kc.Loss, kc.Reduction, kc.Fisher, new ReadOnlySpan2D<double>(rows, r, c), new ReadOnlySpan2D<double>(targets, r, c), vectors, kc.McSamples);
            }

            if (g.Dim(0) != v)
            {
                checks.Fail($"loss vectors batch {b}: the stored g has V = {g.Dim(0)}, expected {v}");
                continue;
            }

            var stored = new double[g.Length];
            int plane = g.Length / v;
            for (int i = 0; i < v; i++)
            {
                var (gr, _, _) = LossRows.ToRows(g.Data.AsSpan(i * plane, plane).ToArray(), output.Shape, classesSecond);
                gr.CopyTo(stored, i * plane);
            }

            checks.Compare($"loss_vectors[{b}]", vectors, stored, Tolerance);
        }
    }

    /// <summary>
    /// Monte-Carlo draws are random (PyTorch's streams), so only their structure is checked: for CE and BCE,
    /// <c>p − g·√M/(s·√c)</c> must be a sampled label (one-hot for CE, entries in {0, 1} for BCE). MSE draws are Gaussian.
    /// </summary>
    private static void CheckMonteCarloStructure(KfacCase kc, KfacChecks checks)
    {
        if (kc.Loss == LossFunction.MeanSquaredError)
        {
            return;
        }

        string last = kc.Model.Layers[^1].Name;
        double worst = 0;
        for (int b = 0; b < kc.Batches.Count; b++)
        {
            var batch = kc.Batches[b];
            var output = Tensor.From(batch.GetProperty("output"));
            var g = Tensor.From(batch.GetProperty("layers").GetProperty(last).GetProperty("g"));
            bool ce = kc.Loss == LossFunction.CrossEntropy;
            bool classesSecond = ce && output.Shape.Length > 2;
            var (rows, r, c) = LossRows.ToRows(output.Data, output.Shape, classesSecond);
            int m = g.Dim(0), plane = g.Length / m;
            double scale = (kc.Reduction == LossReduction.Mean ? 1.0 / r : 1.0) * Math.Sqrt(ce || kc.Reduction == LossReduction.Sum ? 1.0 : 1.0 / c) / Math.Sqrt(m);
            for (int v = 0; v < m; v++)
            {
                var (gr, _, _) = LossRows.ToRows(g.Data.AsSpan(v * plane, plane).ToArray(), output.Shape, classesSecond);
                for (int i = 0; i < r; i++)
                {
                    double max = double.NegativeInfinity, z = 0;
                    for (int j = 0; j < c; j++)
                    {
                        max = Math.Max(max, rows[(i * c) + j]);
                    }

                    for (int j = 0; j < c; j++)
                    {
                        z += Math.Exp(rows[(i * c) + j] - max);
                    }

                    int ones = 0;
                    for (int j = 0; j < c; j++)
                    {
                        double f = rows[(i * c) + j];
                        double prob = ce ? Math.Exp(f - max) / z : 1 / (1 + Math.Exp(-f));
                        double label = prob - (gr[(i * c) + j] / scale);
                        double distance = Math.Min(Math.Abs(label), Math.Abs(label - 1));
                        worst = Math.Max(worst, distance);
                        ones += Math.Abs(label - 1) < 1e-6 ? 1 : 0;
                    }

                    if (ce && ones != 1)
                    {
                        checks.Fail($"mc_structure batch {b}: row {i} of draw {v} is not one-hot");
                    }
                }
            }
        }

        // An absolute check: sampled labels are exactly 0 or 1, probabilities are O(1).
        checks.CompareAbsolute("mc_structure", worst, 1e-9);
    }

    private static double[] Flat(Span2D<double> m) => m.ToArray().Cast<double>().ToArray();
}
