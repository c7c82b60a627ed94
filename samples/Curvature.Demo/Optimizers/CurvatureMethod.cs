using System.Globalization;
using Curvature.Demo.Tasks;
using Curvature.Demo.Training;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// THE PLUG-IN POINT for Curvature's optimizers: K-FAC, EKFAC or AdaFisher attached to the task's TorchSharp model
/// through the bridge (<see cref="TorchCurvature.Attach{T}"/>), with the settings of <see cref="CurvatureSettings"/>.
/// One step is what a user writes: zero the gradients, run the forward pass inside <c>Record()</c>, compute the loss,
/// and <c>Step(loss, output)</c>, which runs the backward pass, observes the layers and updates the parameters in place.
/// </summary>
public sealed class CurvatureMethod : ITrainingMethod
{
    private readonly DemoTask _task;
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly TorchCurvatureOptimizer<float> _curvature;

    private CurvatureMethod(TrainingSetup setup, string key, OptimizerOptions options,
        Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<float>> create)
    {
        _task = setup.Task;
        _model = setup.Model;
        var bridge = CurvatureSettings.Bridge(setup.Task, key);
        _curvature = TorchCurvature.Attach(setup.Model, create, bridge);
        Settings = string.Create(CultureInfo.InvariantCulture,
            $"lr {options.LearningRate:g3}, momentum {options.Momentum:g2}, damping {options.Damping:g2} ({options.DampingAdaptation}), {_curvature.Fisher} Fisher");
    }

    /// <inheritdoc />
    public string Settings { get; }

    /// <summary>K-FAC (Martens &amp; Grosse 2015).</summary>
    public static Func<TrainingSetup, ITrainingMethod> Kfac => setup =>
    {
        var options = WithLearningRate(CurvatureSettings.Kfac(setup.Task), setup);
        return new CurvatureMethod(setup, "kfac", options, (spec, values, grads) => new KfacOptimizer<float>(setup.Backend, spec, values, grads, options));
    };

    /// <summary>EKFAC (George et al. 2018).</summary>
    public static Func<TrainingSetup, ITrainingMethod> Ekfac => setup =>
    {
        var options = WithLearningRate(CurvatureSettings.Ekfac(setup.Task), setup);
        return new CurvatureMethod(setup, "ekfac", options, (spec, values, grads) => new EkfacOptimizer<float>(setup.Backend, spec, values, grads, options));
    };

    /// <summary>AdaFisher (Gomes et al. 2025).</summary>
    public static Func<TrainingSetup, ITrainingMethod> AdaFisher => setup =>
    {
        var options = WithLearningRate(CurvatureSettings.AdaFisher(setup.Task), setup);
        return new CurvatureMethod(setup, "adafisher", options, (spec, values, grads) => new AdaFisherOptimizer<float>(setup.Backend, spec, values, grads, options));
    };

    /// <inheritdoc />
    public double Step(TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        _model.zero_grad(set_to_none: true);
        Tensor output;
        using (_curvature.Record())
        {
            output = _model.call(batch.Input);
        }

        var loss = _task.ComputeLoss(output, batch.Images, batch.Labels);
        double value = loss.item<float>();
        if (!double.IsFinite(value))
        {
            return value; // diverged: the trainer stops (the optimizer would reject the step)
        }

        _curvature.Step(loss, output);
        return value;
    }

    /// <inheritdoc />
    public void Dispose() => _curvature.Dispose();

    private static T WithLearningRate<T>(T options, TrainingSetup setup)
        where T : OptimizerOptions =>
        setup.LearningRate is double lr ? options with { LearningRate = lr } : options;
}
