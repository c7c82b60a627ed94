using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Optimizers;

/// <summary>Adam (Kingma &amp; Ba 2015) with bias correction.</summary>
public sealed class AdamOptimizer : ITrainingOptimizer
{
    private readonly double _learningRate;
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _epsilon;
    private double[][]? _m;
    private double[][]? _v;
    private int _t;

    /// <summary>Creates the optimizer.</summary>
    public AdamOptimizer(double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(learningRate);
        _learningRate = learningRate;
        _beta1 = beta1;
        _beta2 = beta2;
        _epsilon = epsilon;
    }

    /// <inheritdoc />
    public string Name => "Adam";

    /// <inheritdoc />
    public string Settings => FormattableString.Invariant($"lr {_learningRate:g3}, betas ({_beta1:g3}, {_beta2:g4})");

    /// <inheritdoc />
    public double Step(Model model, Batch batch)
    {
        double loss = model.ComputeLossAndGradients(batch);
        var parameters = model.Parameters;
        _m ??= parameters.Select(p => new double[p.Values.Length]).ToArray();
        _v ??= parameters.Select(p => new double[p.Values.Length]).ToArray();
        _t++;
        double correction1 = 1 - Math.Pow(_beta1, _t);
        double correction2 = 1 - Math.Pow(_beta2, _t);
        double stepSize = _learningRate / correction1;
        for (int i = 0; i < parameters.Count; i++)
        {
            var values = parameters[i].Values.Span;
            var gradient = parameters[i].Gradient.Span;
            var m = _m[i];
            var v = _v[i];
            for (int j = 0; j < values.Length; j++)
            {
                double g = gradient[j];
                m[j] = (_beta1 * m[j]) + ((1 - _beta1) * g);
                v[j] = (_beta2 * v[j]) + ((1 - _beta2) * g * g);
                values[j] -= stepSize * m[j] / (Math.Sqrt(v[j] / correction2) + _epsilon);
            }
        }

        return loss;
    }
}
