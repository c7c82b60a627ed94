using Curvature.Backends.Managed;
using Curvature.Diagnostics;
using Curvature.Optimizers;
using Curvature.Tests.Diagnostics;
using Curvature.Tests.Training;
using Xunit;

namespace Curvature.Tests.Optimizers;

/// <summary>The optimizers record rejected steps, the lag of the inverse or eigenbasis in use, and refresh durations
/// (K-FAC: inverse refreshes; EKFAC: eigenbasis refreshes).</summary>
[Collection(MetricsCollection.Name)]
public class OptimizerMetricsTests
{
    [Fact]
    public void RejectedSteps_InverseLag_AndRefreshDurations_AreRecorded()
    {
        using var capture = new MetricsCapture();
        var problem = StandardProblems.Create<double>(StandardProblems.MlpClassifier);
        var net = problem.CreateNetwork();
        using (var kfac = new KfacOptimizer<double>(new ManagedBackend(), net.Spec, net.Values, net.Gradients))
        {
            for (int i = 0; i < 3; i++)
            {
                double loss = net.LossAndGradients(problem.GetBatch(i));
                net.Observe(kfac);
                kfac.Step(loss);
            }

            Assert.NotEmpty(capture.Of(CurvatureMetrics.InverseRefreshDuration));
            Assert.Empty(capture.Of(CurvatureMetrics.EigenbasisRefreshDuration));
            Assert.Equal([0.0, 1, 2], capture.Of(CurvatureMetrics.InverseLag).Select(m => m.Value).Distinct().Order());
            net.Gradients.Get<double>("0.weight").Span[0] = double.PositiveInfinity;
            Assert.Throws<StepRejectedException>(() => kfac.Step(1));
            var rejected = Assert.Single(capture.Of(CurvatureMetrics.StepsRejected));
            Assert.Equal("non_finite_gradient", rejected.Tag(CurvatureMetrics.ReasonTag));
        }

        capture.Clear();
        var other = problem.CreateNetwork();
        using var ekfac = new EkfacOptimizer<double>(new ManagedBackend(), other.Spec, other.Values, other.Gradients);
        double first = other.LossAndGradients(problem.GetBatch(0));
        other.Observe(ekfac);
        ekfac.Step(first);
        Assert.NotEmpty(capture.Of(CurvatureMetrics.EigenbasisRefreshDuration));
        Assert.Empty(capture.Of(CurvatureMetrics.InverseRefreshDuration));
    }
}
