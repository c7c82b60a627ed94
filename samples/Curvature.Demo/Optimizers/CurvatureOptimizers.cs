using Curvature.Optimizers;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// THE PLUG-IN POINT for Curvature's optimizers. Each slot is a factory
/// <c>OptimizerSetup → ITrainingOptimizer</c>; while a slot is <see langword="null"/> the demo lists the method as
/// "not wired in yet" and rejects it on the command line. Wiring one in needs no change anywhere else: the
/// catalog, the command line, the training loop, the table, the CSV and the plot pick it up.
/// </summary>
/// <remarks>
/// <para>Every Curvature optimizer is one <see cref="CurvatureTrainingOptimizer"/>: the network's dense layers as a
/// <c>ModelSpec</c>, its parameter and gradient arrays bound once, and per step the layers' inputs and output gradients
/// observed (Monte-Carlo Fisher vectors backpropagated by <see cref="FisherVectorSource"/> for K-FAC and EKFAC, the loss
/// gradients for AdaFisher) before <c>Step(loss)</c>. The library applies the learning rate, momentum and damping.</para>
/// <para>Use <c>setup.Backend</c> for the library objects so <c>--backend</c> applies to them, <c>setup.Seed</c> for
/// their sampling, and add a learning rate for the new key to both tasks' <c>LearningRates</c> in
/// <c>DemoTasks.cs</c>.</para>
/// </remarks>
public static class CurvatureOptimizers
{
    /// <summary>K-FAC (Martens &amp; Grosse 2015): Monte-Carlo Fisher, π-damping adapted by Levenberg–Marquardt, periodic inverses.</summary>
    public static Func<OptimizerSetup, ITrainingOptimizer>? Kfac =>
        setup =>
        {
            var s = KfacSettingsFor(setup.TaskName);
            return CurvatureTrainingOptimizer.Kfac(setup.Model, setup.Seed, new KfacOptimizerOptions
            {
                LearningRate = setup.LearningRate, Damping = s.Damping, InverseUpdatePeriod = s.RefreshPeriod,
            }, s.Fisher);
        };

    /// <summary>EKFAC (George et al. 2018): K-FAC's eigenbasis with re-estimated diagonal scalings.</summary>
    public static Func<OptimizerSetup, ITrainingOptimizer>? Ekfac =>
        setup =>
        {
            var s = EkfacSettingsFor(setup.TaskName);
            return CurvatureTrainingOptimizer.Ekfac(setup.Model, setup.Seed, new EkfacOptimizerOptions
            {
                LearningRate = setup.LearningRate, Damping = s.Damping, EigenbasisUpdatePeriod = s.RefreshPeriod,
            }, s.Fisher);
        };

    /// <summary>AdaFisher in its principled mode (diagonal Kronecker factors, bias-corrected running average, damping).</summary>
    public static Func<OptimizerSetup, ITrainingOptimizer>? AdaFisher =>
        setup => CurvatureTrainingOptimizer.AdaFisher(setup.Model, new AdaFisherOptimizerOptions
        {
            LearningRate = setup.LearningRate, Damping = AdaFisherDampingFor(setup.TaskName),
        });

    /// <summary>K-FAC's initial damping and inverse period per task (README: "Tuning").</summary>
    public static KfacSettings KfacSettingsFor(string task) => task switch
    {
        "autoencoder" => new KfacSettings(Damping: 1e-2, RefreshPeriod: 10),
        _ => new KfacSettings(Damping: 1e-3, RefreshPeriod: 10),
    };

    /// <summary>EKFAC's initial damping and eigenbasis period per task.</summary>
    public static KfacSettings EkfacSettingsFor(string task) => task switch
    {
        "autoencoder" => new KfacSettings(Damping: 3e-2, RefreshPeriod: 10),
        _ => new KfacSettings(Damping: 1e-2, RefreshPeriod: 10),
    };

    /// <summary>AdaFisher's damping per task.</summary>
    public static double AdaFisherDampingFor(string task) => task switch
    {
        "autoencoder" => 3e-4,
        _ => 1e-3,
    };

    internal static string NotWiredYet(string method) =>
        $"{method} is not wired into the demo yet (slot in samples/Curvature.Demo/Optimizers/CurvatureOptimizers.cs).";
}
