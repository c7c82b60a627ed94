using CommunityToolkit.HighPerformance;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// Preconditioned SGD with momentum around an <see cref="ILayerPreconditioner"/>:
/// <c>d_l = P_l⁻¹ ∇_l</c>, <c>v_l ← μ v_l + d_l</c>, <c>θ_l ← θ_l − η v_l</c>, per layer in the joint <c>[W | b]</c> layout.
/// </summary>
public sealed class PreconditionedOptimizer : ITrainingOptimizer
{
    private readonly ILayerPreconditioner _preconditioner;
    private readonly double _learningRate;
    private readonly double _momentum;
    private double[][]? _gradient;
    private double[][]? _direction;
    private double[][]? _velocity;
    private int _step;

    /// <summary>Creates the optimizer.</summary>
    public PreconditionedOptimizer(ILayerPreconditioner preconditioner, double learningRate, double momentum = 0.9)
    {
        ArgumentNullException.ThrowIfNull(preconditioner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(learningRate);
        ArgumentOutOfRangeException.ThrowIfNegative(momentum);
        _preconditioner = preconditioner;
        _learningRate = learningRate;
        _momentum = momentum;
    }

    /// <inheritdoc />
    public string Name => _preconditioner.Name;

    /// <inheritdoc />
    public string Settings => FormattableString.Invariant($"lr {_learningRate:g3}, momentum {_momentum:g3}, {_preconditioner.Settings}");

    /// <inheritdoc />
    public double Step(Model model, Batch batch)
    {
        var layers = model.Layers;
        _gradient ??= layers.Select(JointBuffer).ToArray();
        _direction ??= layers.Select(JointBuffer).ToArray();
        _velocity ??= layers.Select(JointBuffer).ToArray();

        double loss = model.ComputeLossAndGradients(batch);
        if (!double.IsFinite(loss))
        {
            return loss; // diverged: the trainer stops; curvature libraries reject non-finite statistics
        }

        _preconditioner.UpdateCurvature(model, batch, ++_step);
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var gradient = new Span2D<double>(_gradient[l], layer.OutputSize, layer.InputSize + 1);
            var direction = new Span2D<double>(_direction[l], layer.OutputSize, layer.InputSize + 1);
            layer.CopyJointGradient(gradient);
            _preconditioner.Precondition(l, gradient, direction);
            var d = _direction[l];
            var v = _velocity[l];
            for (int j = 0; j < v.Length; j++)
            {
                v[j] = (_momentum * v[j]) + d[j];
            }

            layer.AddToJointParameters(new ReadOnlySpan2D<double>(v, layer.OutputSize, layer.InputSize + 1), -_learningRate);
        }

        return loss;
    }

    private static double[] JointBuffer(DenseLayer layer) => new double[layer.OutputSize * (layer.InputSize + 1)];
}
