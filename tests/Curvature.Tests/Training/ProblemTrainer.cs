using System.Numerics;
using Curvature.Backends;
using Curvature.Loss;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Tests.Training;

/// <summary>The result of training a standard problem: the full-data-set loss before and after, and every batch loss.</summary>
internal sealed record TrainingRun(double InitialLoss, double FinalLoss, IReadOnlyList<double> BatchLosses)
{
    public bool AllFinite => double.IsFinite(InitialLoss) && double.IsFinite(FinalLoss) && BatchLosses.All(double.IsFinite);
}

/// <summary>Trains a standard problem with a Curvature optimizer (default settings unless given) or with Adam.</summary>
internal static class ProblemTrainer
{
    /// <summary>
    /// Trains with a curvature optimizer built by <paramref name="create"/>: per step the batch's loss and gradients,
    /// then (when the optimizer needs observations) the Fisher vectors of <paramref name="fisher"/> backpropagated and
    /// observed (<see cref="FisherType.Empirical"/> uses the training gradients themselves), then <c>Step(loss)</c>.
    /// </summary>
    public static TrainingRun Train<T>(
        StandardProblems.Problem<T> problem, Func<TinyNetwork<T>, CurvatureOptimizer<T>> create, int steps, FisherType fisher = FisherType.MonteCarlo, int seed = 7)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = problem.CreateNetwork();
        double initial = net.Evaluate(problem.Data);
        var losses = new List<double>(steps);
        var rng = new Random(seed);
        using var optimizer = create(net);
        for (int step = 0; step < steps; step++)
        {
            double loss = net.LossAndGradients(problem.GetBatch(step));
            losses.Add(loss);
            if (!double.IsFinite(loss))
            {
                break;
            }

            if (optimizer.NeedsObservations)
            {
                if (fisher != FisherType.Empirical)
                {
                    net.BackpropagateFisherVectors(fisher, rng);
                }

                net.Observe(optimizer);
            }

            optimizer.Step(loss);
        }

        return new TrainingRun(initial, net.Evaluate(problem.Data), losses);
    }

    /// <summary>Trains with Adam (PyTorch's defaults: β 0.9 / 0.999, ε 1e-8; learning rate 1e-3 unless given).</summary>
    public static TrainingRun TrainAdam<T>(StandardProblems.Problem<T> problem, int steps, double learningRate = 1e-3)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = problem.CreateNetwork();
        double initial = net.Evaluate(problem.Data);
        var losses = new List<double>(steps);
        var tensors = net.Values.Select(p => ((NamedTensor<T>)p.Value, (NamedTensor<T>)net.Gradients[p.Key])).ToArray();
        var m = tensors.Select(t => new double[t.Item1.Length]).ToArray();
        var v = tensors.Select(t => new double[t.Item1.Length]).ToArray();
        for (int step = 1; step <= steps; step++)
        {
            losses.Add(net.LossAndGradients(problem.GetBatch(step - 1)));
            double c1 = 1 - Math.Pow(0.9, step), c2 = 1 - Math.Pow(0.999, step);
            for (int k = 0; k < tensors.Length; k++)
            {
                var (p, g) = tensors[k];
                for (int i = 0; i < p.Length; i++)
                {
                    double gi = double.CreateChecked(g.Span[i]);
                    m[k][i] = (0.9 * m[k][i]) + (0.1 * gi);
                    v[k][i] = (0.999 * v[k][i]) + (0.001 * gi * gi);
                    p.Span[i] -= T.CreateChecked(learningRate * (m[k][i] / c1) / (Math.Sqrt(v[k][i] / c2) + 1e-8));
                }
            }
        }

        return new TrainingRun(initial, net.Evaluate(problem.Data), losses);
    }

    /// <summary>The K-FAC optimizer with default settings.</summary>
    public static Func<TinyNetwork<T>, CurvatureOptimizer<T>> Kfac<T>(CurvatureBackend backend, KfacOptimizerOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        net => new KfacOptimizer<T>(backend, net.Spec, net.Values, net.Gradients, options);
}
