using System.Text.Json;
using Curvature.Conformance;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.TorchSharp.Tests.Conformance;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using CaseTensor = Curvature.Conformance.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Curvature.TorchSharp.Tests.Bridge;

/// <summary>
/// The curvlinops reference cases through the optimizer entry point: each case's model built in TorchSharp from its
/// parameters, attached with <see cref="TorchCurvature.Attach{T}"/> to a K-FAC and an EKFAC optimizer set to the case's
/// loss reduction, loss terms per example, weight sharing and bias blocks, one <c>Step</c> on the case's data, and the
/// optimizer's Kronecker factors (its <c>Statistics</c>) compared with the case's stored factors (1e-10 relative).
/// </summary>
/// <remarks>
/// A case's factors are those of its data set (its batches with <c>num_data</c> = all their examples), which are the
/// factors of one batch holding all its examples: the step runs on the batches concatenated. The case's own Fisher is
/// used: type-2 vectors computed by the bridge, the training loss's gradient for the empirical Fisher, and for
/// Monte-Carlo the case's stored draws (its last layer's output gradients, rescaled from each batch's 1/N to the
/// concatenated batch's for a mean-reduced loss) passed as caller vectors. The empirical Fisher of a mean-reduced MSE or
/// BCE loss over C outputs is the per-example losses' (the bridge passes PyTorch's gradient, which averages over the C
/// outputs too): its G is curvlinops' divided by C, which the comparison applies.
/// </remarks>
public class BridgeReferenceCaseTests
{
    private const double Tolerance = 1e-10;

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "data", "reference");

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var file in Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal))
        {
            if (ReferenceCase.Load(file).Kind == "kfac_ekfac")
            {
                data.Add(Path.GetFileNameWithoutExtension(file), false);
                data.Add(Path.GetFileNameWithoutExtension(file), true);
            }
        }

        return data;
    }

    [Fact]
    public void EveryPublicKfacCase_IsChecked() => Assert.Equal(30, Cases().Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneStep_TheOptimizersFactorsAreTheCasesFactors(string name, bool ekfac)
    {
        var backend = TestBackends.Get("managed");
        var referenceCase = ReferenceCase.Load(Path.Combine(Folder, name + ".json"));
        var kc = KfacCase.From(referenceCase);
        using var scope = NewDisposeScope();
        var model = CaseModel.Build(referenceCase);
        var (x, y, vectors) = Concatenated(kc);
        var fisher = kc.Fisher switch
        {
            FisherType.Type2 => TorchFisher.Type2(kc.Loss),
            FisherType.Empirical => TorchFisher.Empirical,
            _ => TorchFisher.Vectors(_ => vectors!.alias()),
        };
        var bridgeOptions = new TorchCurvatureOptions { Fisher = fisher, SeparateWeightAndBias = kc.Model.SeparateWeightAndBias };
        using var optimizer = TorchCurvature.Attach<double>(model, (spec, values, grads) => ekfac
            ? new EkfacOptimizer<double>(backend, spec, values, grads, new EkfacOptimizerOptions
            {
                Reduction = kc.Reduction,
                LossTermsPerExample = kc.Options.LossTermsPerExample,
                WeightSharing = kc.Options.Approximation,
            })
            : new KfacOptimizer<double>(backend, spec, values, grads, new KfacOptimizerOptions
            {
                Reduction = kc.Reduction,
                LossTermsPerExample = kc.Options.LossTermsPerExample,
                WeightSharing = kc.Options.Approximation,
            }), bridgeOptions);
        Assert.Equal(kc.Model.Parameters.Select(p => (p.Name, p.Offset)), optimizer.Model.Parameters.Select(p => (p.Name, p.Offset)));

        TorchTensor output;
        using (optimizer.Record()) output = model.call(x);
        var loss = Loss(kc, output, y);
        var result = optimizer.Step(loss, output, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(result.StatisticsUpdated);

        double gScale = kc.Fisher == FisherType.Empirical && kc.Reduction == LossReduction.Mean && kc.Loss != LossFunction.CrossEntropy
            ? 1.0 / output.shape[^1]
            : 1.0;
        var statistics = optimizer.Optimizer.Statistics;
        var blocks = referenceCase.Root.GetProperty("kfac").GetProperty("blocks").EnumerateArray().ToList();
        Assert.Equal(blocks.Count, optimizer.Model.Blocks.Count);
        int offset = 0;
        for (int i = 0; i < blocks.Count; i++)
        {
            var layout = optimizer.Model.Blocks[i];
            int g = layout.OutputSize * layout.OutputSize, a = layout.InputSize * layout.InputSize;
            var expectedG = CaseTensor.From(blocks[i].GetProperty("gradient_covariance")).Data.Select(v => v * gScale).ToArray();
            Torch.AssertClose(expectedG, statistics.Slice(offset, g).ToArray(), Tolerance, $"{name}: G of {layout}");
            var refA = blocks[i].GetProperty("input_covariance");
            Assert.Equal(refA.ValueKind == JsonValueKind.Null, !layout.HasInputFactor);
            if (layout.HasInputFactor)
            {
                Torch.AssertClose(CaseTensor.From(refA).Data, statistics.Slice(offset + g, a).ToArray(), Tolerance, $"{name}: A of {layout}");
            }

            offset += g + a + (ekfac ? layout.OutputSize * layout.Columns : 0);
        }

        Assert.Equal(statistics.Length, offset);
    }

    /// <summary>The case's batches as one batch (and, for Monte-Carlo, its stored draws as vectors <c>[V, N, …]</c>).</summary>
    private static (TorchTensor X, TorchTensor Y, TorchTensor? Vectors) Concatenated(KfacCase kc)
    {
        var xs = new List<TorchTensor>();
        var ys = new List<TorchTensor>();
        var vs = new List<TorchTensor>();
        long total = kc.Batches.Sum(b => (long)CaseTensor.From(b.GetProperty("X")).Shape[0]);
        string last = kc.Model.Layers[^1].Name;
        foreach (var batch in kc.Batches)
        {
            var x = CaseTensor.From(batch.GetProperty("X"));
            var y = CaseTensor.From(batch.GetProperty("y"));
            xs.Add(tensor(x.Data, [.. x.Shape.Select(d => (long)d)], ScalarType.Float64));
            ys.Add(kc.Loss == LossFunction.CrossEntropy
                ? tensor(y.Data.Select(v => (long)v).ToArray(), [.. y.Shape.Select(d => (long)d)])
                : tensor(y.Data, [.. y.Shape.Select(d => (long)d)], ScalarType.Float64));
            if (kc.Fisher == FisherType.MonteCarlo)
            {
                var g = CaseTensor.From(batch.GetProperty("layers").GetProperty(last).GetProperty("g"));
                double rescale = kc.Reduction == LossReduction.Mean ? (double)x.Shape[0] / total : 1.0;
                vs.Add(tensor(g.Data.Select(v => v * rescale).ToArray(), [.. g.Shape.Select(d => (long)d)], ScalarType.Float64));
            }
        }

        return (cat(xs, 0), cat(ys, 0), vs.Count > 0 ? cat(vs, 1) : null);
    }

    private static TorchTensor Loss(KfacCase kc, TorchTensor output, TorchTensor y)
    {
        var reduction = kc.Reduction == LossReduction.Mean ? nn.Reduction.Mean : nn.Reduction.Sum;
        return kc.Loss switch
        {
            LossFunction.CrossEntropy => nn.functional.cross_entropy(output, y, reduction: reduction),
            LossFunction.MeanSquaredError => nn.functional.mse_loss(output, y, reduction),
            _ => nn.functional.binary_cross_entropy_with_logits(output, y, reduction: reduction),
        };
    }
}
