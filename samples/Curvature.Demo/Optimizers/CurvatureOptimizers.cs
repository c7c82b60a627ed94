namespace Curvature.Demo.Optimizers;

/// <summary>
/// THE PLUG-IN POINT for Curvature's optimizers. Each slot is a factory
/// <c>OptimizerSetup → ITrainingOptimizer</c>; while a slot is <see langword="null"/> the demo lists the method as
/// "not wired in yet" and rejects it on the command line. Wiring one in needs no change anywhere else: the
/// catalog, the command line, the training loop, the table, the CSV and the plot pick it up.
/// </summary>
/// <remarks>
/// <para>Two ways to fill a slot:</para>
/// <list type="number">
/// <item>A per-layer preconditioner (K-FAC, EKFAC): write an <see cref="ILayerPreconditioner"/> adapter over the
/// library's preconditioner and return <c>new PreconditionedOptimizer(adapter, setup.LearningRate, momentum)</c>.
/// In <c>UpdateCurvature</c>, for the Monte-Carlo / type-2 Fisher, take the library loss side's output vectors for
/// <c>model.LossKind</c> (<c>MeanSquaredError</c> ↔ MSE mean, <c>CrossEntropy</c> ↔ CE mean) from
/// <c>model.Outputs</c> and the batch, call <c>model.BackpropagateOutputVectors(v)</c> for each, and feed
/// <c>layer.Input</c> (a) and <c>layer.OutputGradient</c> (g) of every layer to the factor update;
/// in <c>Precondition</c>, apply the inverse to the joint <c>[W | b]</c> gradient.</item>
/// <item>A whole optimizer with its own update rule (AdaFisher): implement <see cref="ITrainingOptimizer"/>
/// directly; <c>model.ComputeLossAndGradients(batch)</c> then the layers' <c>Input</c>, <c>OutputGradient</c>,
/// <c>CopyJointGradient</c> and <c>AddToJointParameters</c> give it everything.</item>
/// </list>
/// <para>Use <c>setup.Backend</c> for the library objects so <c>--backend</c> applies to them, <c>setup.Seed</c> for
/// their sampling, and add a learning rate for the new key to both tasks' <c>LearningRates</c> in
/// <c>DemoTasks.cs</c> (tune it the same way as the baselines': the best of a small grid on the default run).</para>
/// <para>Wired in (#8): K-FAC (<see cref="KfacAdapter"/>), EKFAC (<see cref="EkfacAdapter"/>) and AdaFisher
/// (<see cref="AdaFisherTrainingOptimizer"/>); their damping and refresh period per task are below, the learning rates
/// in <c>DemoTasks.cs</c>, the grid they were chosen from in the README.</para>
/// </remarks>
public static class CurvatureOptimizers
{
    /// <summary>K-FAC (Martens &amp; Grosse 2015): Monte-Carlo Fisher, factored Tikhonov damping, periodic inverses.</summary>
    public static Func<OptimizerSetup, ITrainingOptimizer>? Kfac =>
        setup => new PreconditionedOptimizer(new KfacAdapter(setup.Model, setup.Seed, KfacSettingsFor(setup.TaskName)), setup.LearningRate);

    /// <summary>EKFAC (George et al. 2018): K-FAC's eigenbasis with re-estimated diagonal scalings.</summary>
    public static Func<OptimizerSetup, ITrainingOptimizer>? Ekfac =>
        setup => new PreconditionedOptimizer(new EkfacAdapter(setup.Model, setup.Seed, EkfacSettingsFor(setup.TaskName)), setup.LearningRate);

    /// <summary>AdaFisher in its principled mode (diagonal Kronecker factors, standard running average, damping).</summary>
    public static Func<OptimizerSetup, ITrainingOptimizer>? AdaFisher =>
        setup => new AdaFisherTrainingOptimizer(setup.Model, setup.LearningRate, AdaFisherEpsilonFor(setup.TaskName));

    /// <summary>K-FAC's tuned damping and inverse period per task (README: "Tuning").</summary>
    public static KfacSettings KfacSettingsFor(string task) => task switch
    {
        "autoencoder" => new KfacSettings(Damping: 1e-2, InverseUpdatePeriod: 10),
        _ => new KfacSettings(Damping: 1e-3, InverseUpdatePeriod: 10),
    };

    /// <summary>EKFAC's tuned damping (ε on the scalings) and eigenbasis period per task.</summary>
    public static KfacSettings EkfacSettingsFor(string task) => task switch
    {
        "autoencoder" => new KfacSettings(Damping: 3e-2, InverseUpdatePeriod: 10),
        _ => new KfacSettings(Damping: 1e-2, InverseUpdatePeriod: 10),
    };

    /// <summary>AdaFisher's tuned damping per task.</summary>
    public static double AdaFisherEpsilonFor(string task) => task switch
    {
        "autoencoder" => 3e-4,
        _ => 1e-3,
    };

    internal static string NotWiredYet(string method) =>
        $"{method} is not wired into the demo yet (slot in samples/Curvature.Demo/Optimizers/CurvatureOptimizers.cs).";
}
