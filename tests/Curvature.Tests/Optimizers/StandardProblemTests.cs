using System.Numerics;
using Curvature.Backends;
using Curvature.Loss;
using Curvature.Optimizers;
using Curvature.Tests.TestKit;
using Curvature.Tests.Training;
using Xunit;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// Every curvature optimizer trains every standard problem with its default settings, on every backend, in float and
/// double: the loss stays finite and the training-set loss ends below where it started; on the deep autoencoder K-FAC's
/// defaults end below Adam's defaults after the same number of steps.
/// </summary>
public class StandardProblemTests
{
    private const int Steps = 60;

    public static TheoryData<string, string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, string, bool>();
        foreach (var backend in new[] { "managed", "openblas", "mkl" })
        {
            foreach (var optimizer in new[] { "kfac", "ekfac", "adafisher" })
            {
                foreach (var problem in StandardProblems.All)
                {
                    data.Add(backend, optimizer, problem, false);
                    data.Add(backend, optimizer, problem, true);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DefaultSettings_TrainEveryStandardProblem(string backendName, string optimizer, string problem, bool single)
    {
        var backend = TestBackends.Get(backendName);
        var run = single ? Train<float>(backend, optimizer, problem) : Train<double>(backend, optimizer, problem);
        Assert.True(run.AllFinite, $"{optimizer} on {problem}: a loss is not finite.");
        Assert.True(run.FinalLoss < run.InitialLoss, $"{optimizer} on {problem}: the loss went from {run.InitialLoss} to {run.FinalLoss}.");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void DeepAutoencoder_KfacDefaultsBeatAdamDefaults(string backendName, bool single)
    {
        var backend = TestBackends.Get(backendName);
        double kfac, adam;
        if (single)
        {
            var p = StandardProblems.Create<float>(StandardProblems.DeepAutoencoder);
            kfac = ProblemTrainer.Train(p, ProblemTrainer.Kfac<float>(backend), Steps).FinalLoss;
            adam = ProblemTrainer.TrainAdam(p, Steps).FinalLoss;
        }
        else
        {
            var p = StandardProblems.Create<double>(StandardProblems.DeepAutoencoder);
            kfac = ProblemTrainer.Train(p, ProblemTrainer.Kfac<double>(backend), Steps).FinalLoss;
            adam = ProblemTrainer.TrainAdam(p, Steps).FinalLoss;
        }

        Assert.True(kfac < adam, $"K-FAC ended at {kfac}, Adam at {adam}.");
    }

    public static TheoryData<string, bool> Backends()
    {
        var data = new TheoryData<string, bool>();
        foreach (var backend in new[] { "managed", "openblas", "mkl" })
        {
            data.Add(backend, false);
            data.Add(backend, true);
        }

        return data;
    }

    private static TrainingRun Train<T>(CurvatureBackend backend, string optimizer, string problem)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var p = StandardProblems.Create<T>(problem);
        return optimizer switch
        {
            "kfac" => ProblemTrainer.Train(p, net => new KfacOptimizer<T>(backend, net.Spec, net.Values, net.Gradients), Steps),
            "ekfac" => ProblemTrainer.Train(p, net => new EkfacOptimizer<T>(backend, net.Spec, net.Values, net.Gradients), Steps),
            _ => ProblemTrainer.Train(p, net => new AdaFisherOptimizer<T>(backend, net.Spec, net.Values, net.Gradients), Steps, FisherType.Empirical),
        };
    }
}
