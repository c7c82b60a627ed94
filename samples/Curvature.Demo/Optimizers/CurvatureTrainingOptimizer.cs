using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// A Curvature optimizer (K-FAC, EKFAC, AdaFisher) driving the demo's network: the dense layers become a
/// <see cref="ModelSpec"/> (<c>layer1</c>, <c>layer2</c>, … with weight and bias), the network's parameter and gradient
/// arrays are bound once, and every step observes each layer's input <c>a</c> and output gradient <c>g</c> (of the Fisher
/// vectors of <see cref="FisherVectorSource"/>, or of the loss itself for the empirical Fisher) and calls
/// <see cref="CurvatureOptimizer{T}.Step(double, Func{double}?)"/>, which updates the parameters in place. Learning rate,
/// momentum, damping control and the bias handling are the library's.
/// </summary>
public sealed class CurvatureTrainingOptimizer : ITrainingOptimizer
{
    private readonly FisherVectorSource? _vectors;
    private readonly string[] _layers;

    private CurvatureTrainingOptimizer(Model model, string name, string settings, FisherVectorSource? vectors, Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<double>> create)
    {
        ArgumentNullException.ThrowIfNull(model);
        Name = name;
        _vectors = vectors;
        _layers = [.. model.Layers.Select(l => $"layer{l.Index + 1}")];
        var spec = new ModelSpec(model.Layers.Select((l, i) => LayerSpec.Linear(_layers[i], l.InputSize, l.OutputSize)));
        var values = new ParameterSet();
        var gradients = new ParameterSet();
        foreach (var p in model.Parameters)
        {
            int[] shape = [.. spec.Parameters.Single(s => s.Name == p.Name).Shape];
            values.Add(new NamedTensor<double>(p.Name, p.Values, shape));
            gradients.Add(new NamedTensor<double>(p.Name, p.Gradient, shape));
        }

        Optimizer = create(spec, values, gradients);
        Settings = vectors is null ? settings : $"{settings}, {vectors.Description}";
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Settings { get; }

    /// <summary>The library optimizer.</summary>
    public CurvatureOptimizer<double> Optimizer { get; }

    /// <summary>K-FAC with G from the Monte-Carlo (or empirical) Fisher vectors of the loss.</summary>
    public static CurvatureTrainingOptimizer Kfac(Model model, int seed, KfacOptimizerOptions options, FisherType fisher = FisherType.MonteCarlo) =>
        new(model, "K-FAC", Describe(options, FormattableString.Invariant($", π-damping {options.Damping:g3}, T {options.InverseUpdatePeriod}")), new FisherVectorSource(fisher, seed),
            (spec, values, gradients) => new KfacOptimizer<double>(model.Backend, spec, values, gradients, options));

    /// <summary>EKFAC with G and the scalings from the Monte-Carlo (or empirical) Fisher vectors of the loss.</summary>
    public static CurvatureTrainingOptimizer Ekfac(Model model, int seed, EkfacOptimizerOptions options, FisherType fisher = FisherType.MonteCarlo) =>
        new(model, "EKFAC", Describe(options, FormattableString.Invariant($", damping {options.Damping:g3}, T {options.EigenbasisUpdatePeriod}")), new FisherVectorSource(fisher, seed),
            (spec, values, gradients) => new EkfacOptimizer<double>(model.Backend, spec, values, gradients, options));

    /// <summary>AdaFisher: its statistics come from the loss gradients themselves (empirical Fisher).</summary>
    public static CurvatureTrainingOptimizer AdaFisher(Model model, AdaFisherOptimizerOptions options) =>
        new(model, "AdaFisher", Describe(options, FormattableString.Invariant($", damping {options.Damping:g3}, {options.Mode}")), null,
            (spec, values, gradients) => new AdaFisherOptimizer<double>(model.Backend, spec, values, gradients, options));

    /// <summary>Records every layer's input and output gradient for the next step (when the optimizer needs them).</summary>
    public void ObserveCurvature(Model model, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Optimizer.NeedsObservations)
        {
            return;
        }

        _vectors?.Backpropagate(model, batch);
        var layers = model.Layers;
        for (int l = 0; l < layers.Count; l++)
        {
            Optimizer.Observe(_layers[l], layers[l].Input, layers[l].OutputGradient);
        }
    }

    /// <inheritdoc />
    public double Step(Model model, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        double loss = model.ComputeLossAndGradients(batch);
        if (!double.IsFinite(loss))
        {
            return loss; // diverged: the trainer stops (the library would reject the step)
        }

        ObserveCurvature(model, batch);
        Optimizer.Step(loss);
        return loss;
    }

    private static string Describe(OptimizerOptions options, string rest) =>
        FormattableString.Invariant($"lr {options.LearningRate:g3}, momentum {options.Momentum:g3}{rest}");
}
