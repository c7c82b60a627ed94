using Curvature.Backends.Managed;
using Curvature.Loss;
using Curvature.Optimizers;
using Curvature.Tests.Training;
using Xunit;

namespace Curvature.Tests.Scratch;

public class DefaultsExperiment
{
    [Fact]
    public void Run()
    {
        var spec = Environment.GetEnvironmentVariable("EXP") ?? "";
        if (spec == "") return;
        var lines = new List<string>();
        var backend = new ManagedBackend();
        int steps = int.Parse(Environment.GetEnvironmentVariable("EXP_STEPS") ?? "80");
        foreach (var name in StandardProblems.All)
        {
            var p = StandardProblems.Create<double>(name);
            var adam = ProblemTrainer.TrainAdam(p, steps);
            lines.Add($"{name,-22} adam     {adam.InitialLoss:F4} -> {adam.FinalLoss:F4}");
            foreach (var config in spec.Split(';'))
            {
                var kv = config.Split(',').Select(s => s.Split('=')).ToDictionary(a => a[0], a => a[1]);
                bool ek = kv.GetValueOrDefault("opt", "kfac") == "ekfac";
                var o = new KfacOptimizerOptions
                {
                    UpdateRule = kv.GetValueOrDefault("rule", "lr") == "qm" ? UpdateRule.QuadraticModel : UpdateRule.LearningRate,
                    LearningRate = double.Parse(kv.GetValueOrDefault("lr", "0.1")),
                    Damping = double.Parse(kv.GetValueOrDefault("d", "1e-3")),
                    Momentum = double.Parse(kv.GetValueOrDefault("mu", "0.9")),
                    KlClip = kv.ContainsKey("kl") ? double.Parse(kv["kl"]) : null,
                    DampingAdaptation = kv.GetValueOrDefault("lm", "1") == "1" ? DampingAdaptation.LevenbergMarquardt : DampingAdaptation.Fixed,
                    InverseUpdatePeriod = int.Parse(kv.GetValueOrDefault("T", "10")),
                };
                var fisher = kv.GetValueOrDefault("f", "mc") == "emp" ? FisherType.Empirical : FisherType.MonteCarlo;
                try
                {
                    var eo = new EkfacOptimizerOptions { UpdateRule = o.UpdateRule, LearningRate = o.LearningRate, Damping = o.Damping, Momentum = o.Momentum, KlClip = o.KlClip, DampingAdaptation = o.DampingAdaptation, EigenbasisUpdatePeriod = o.InverseUpdatePeriod };
                    bool ada = kv.GetValueOrDefault("opt", "kfac") == "ada";
                    var ao = new AdaFisherOptimizerOptions { LearningRate = double.Parse(kv.GetValueOrDefault("lr", "1e-3")), Damping = double.Parse(kv.GetValueOrDefault("d", "1e-3")), KlClip = kv.ContainsKey("kl") ? double.Parse(kv["kl"]) : null, Momentum = double.Parse(kv.GetValueOrDefault("mu", "0")) };
                    var r = ada ? ProblemTrainer.Train(p, net => new AdaFisherOptimizer<double>(backend, net.Spec, net.Values, net.Gradients, ao), steps, FisherType.Empirical)
                        : ProblemTrainer.Train(p, ek ? (net => new EkfacOptimizer<double>(backend, net.Spec, net.Values, net.Gradients, eo)) : ProblemTrainer.Kfac<double>(backend, o), steps, fisher);
                    lines.Add($"{name,-22} {config,-40} {r.InitialLoss:F4} -> {r.FinalLoss:F4} finite={r.AllFinite}");
                }
                catch (Exception e)
                {
                    lines.Add($"{name,-22} {config,-40} EXC {e.GetType().Name}: {e.Message}");
                }
            }
        }

        File.WriteAllLines("/tmp/exp/results.txt", lines);
    }
}
