using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>Stochastic gradient descent with heavy-ball momentum: <c>v ← μv + ∇L</c>, <c>θ ← θ − η v</c> (PyTorch's convention).</summary>
public sealed class SgdMomentumOptimizer : ITrainingOptimizer
{
    private readonly double _learningRate;
    private readonly double _momentum;
    private double[][]? _velocity;

    /// <summary>Creates the optimizer.</summary>
    public SgdMomentumOptimizer(double learningRate, double momentum = 0.9)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(learningRate);
        ArgumentOutOfRangeException.ThrowIfNegative(momentum);
        _learningRate = learningRate;
        _momentum = momentum;
    }

    /// <inheritdoc />
    public string Name => "SGD+momentum";

    /// <inheritdoc />
    public string Settings => FormattableString.Invariant($"lr {_learningRate:g3}, momentum {_momentum:g3}");

    /// <inheritdoc />
    public double Step(Model model, Batch batch)
    {
        double loss = model.ComputeLossAndGradients(batch);
        var parameters = model.Parameters;
        _velocity ??= parameters.Select(p => new double[p.Values.Length]).ToArray();
        for (int i = 0; i < parameters.Count; i++)
        {
            var values = parameters[i].Values.Span;
            var gradient = parameters[i].Gradient.Span;
            var velocity = _velocity[i];
            for (int j = 0; j < values.Length; j++)
            {
                velocity[j] = (_momentum * velocity[j]) + gradient[j];
                values[j] -= _learningRate * velocity[j];
            }
        }

        return loss;
    }
}
