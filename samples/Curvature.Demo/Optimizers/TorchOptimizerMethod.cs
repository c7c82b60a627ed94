using System.Globalization;
using Curvature.Demo.Tasks;
using Curvature.Demo.Training;
using static TorchSharp.torch;

namespace Curvature.Demo.Optimizers;

/// <summary>A first-order baseline: a <c>torch.optim</c> optimizer (SGD with momentum, Adam) on the model.</summary>
public sealed class TorchOptimizerMethod : ITrainingMethod
{
    private readonly DemoTask _task;
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly optim.Optimizer _optimizer;

    private TorchOptimizerMethod(TrainingSetup setup, optim.Optimizer optimizer, string settings)
    {
        _task = setup.Task;
        _model = setup.Model;
        _optimizer = optimizer;
        Settings = settings;
    }

    /// <summary>Momentum of the SGD baseline.</summary>
    public const double SgdMomentum = 0.9;

    /// <inheritdoc />
    public string Settings { get; }

    /// <summary><c>torch.optim.SGD</c> with momentum 0.9 and the task's tuned learning rate.</summary>
    public static TorchOptimizerMethod Sgd(TrainingSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        double lr = setup.LearningRate ?? setup.Task.SgdLearningRate;
        return new(setup, optim.SGD(setup.Model.parameters(), lr, momentum: SgdMomentum),
            string.Create(CultureInfo.InvariantCulture, $"lr {lr:g3}, momentum {SgdMomentum:g2}"));
    }

    /// <summary><c>torch.optim.Adam</c> (β 0.9, 0.999, ε 1e-8) with the task's tuned learning rate.</summary>
    public static TorchOptimizerMethod Adam(TrainingSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        double lr = setup.LearningRate ?? setup.Task.AdamLearningRate;
        return new(setup, optim.Adam(setup.Model.parameters(), lr), string.Create(CultureInfo.InvariantCulture, $"lr {lr:g3}"));
    }

    /// <inheritdoc />
    public double Step(TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        _model.zero_grad(set_to_none: true); // as torch.optim.Optimizer.zero_grad(set_to_none=True)
        var output = _model.call(batch.Input);
        var loss = _task.ComputeLoss(output, batch.Images, batch.Labels);
        double value = loss.item<float>();
        if (!double.IsFinite(value))
        {
            return value;
        }

        loss.backward();
        _optimizer.step();
        return value;
    }

    /// <inheritdoc />
    public void Dispose() => _optimizer.Dispose();
}
