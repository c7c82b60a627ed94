using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Tests.Training;

/// <summary>A batch: inputs and either class labels (cross-entropy) or targets of the output's shape (MSE, BCE).</summary>
internal sealed record Batch<T>(Tensor<T> Inputs, int[]? Labels, T[]? Targets)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// A sequence of <see cref="Module{T}"/>s with a loss (mean reduction): computes the loss and parameter gradients, the
/// loss side's Fisher vectors (<see cref="BackpropagatedVectors"/>) backpropagated without touching the parameter
/// gradients, and hands every layer's observation to a Curvature optimizer.
/// </summary>
internal sealed class TinyNetwork<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Module<T>[] _modules;
    private Tensor<T>? _output;
    private Batch<T>? _batch;
    private T[] _vectors = [];

    public TinyNetwork(LossFunction loss, int seed, params Module<T>[] modules)
    {
        Loss = loss;
        _modules = modules;
        var rng = new Random(seed);
        foreach (var m in modules)
        {
            m.AddParameters(Values, Gradients, rng);
        }

        Spec = new ModelSpec(modules.Where(m => m.Spec is not null).Select(m => m.Spec!));
    }

    public LossFunction Loss { get; }

    public ModelSpec Spec { get; }

    public ParameterSet Values { get; } = new();

    public ParameterSet Gradients { get; } = new();

    public Tensor<T> Forward(Tensor<T> x)
    {
        foreach (var m in _modules)
        {
            m.ClearOutputGradients();
            x = m.Forward(x);
        }

        return x;
    }

    /// <summary>Forward, loss, and backward of the loss into <see cref="Gradients"/> (zeroed first); returns the loss.</summary>
    public double LossAndGradients(Batch<T> batch)
    {
        foreach (var (_, g) in Gradients)
        {
            ((NamedTensor<T>)g).Span.Clear();
        }

        _batch = batch;
        _output = Forward(batch.Inputs);
        var (loss, grad) = LossAndOutputGradient(_output, batch);
        Backward(grad, accumulate: true);
        return loss;
    }

    /// <summary>The loss on a batch without gradients.</summary>
    public double Evaluate(Batch<T> batch) => LossAndOutputGradient(Forward(batch.Inputs), batch).Loss;

    /// <summary>
    /// Replaces the recorded output gradients by those of the loss side's Fisher vectors for the last batch
    /// (<paramref name="fisher"/>: type-2, Monte-Carlo or empirical), backpropagated one vector index at a time.
    /// </summary>
    public void BackpropagateFisherVectors(FisherType fisher, Random random)
    {
        var output = _output!;
        int rows = output.Shape[0], c = output.Data.Length / rows;
        int v = BackpropagatedVectors.Count(fisher, c);
        if (_vectors.Length != v * rows * c)
        {
            _vectors = new T[v * rows * c];
        }

        var logits = new ReadOnlySpan2D<T>(output.Data, rows, c);
        if (Loss == LossFunction.CrossEntropy)
        {
            BackpropagatedVectors.ComputeCrossEntropy(LossReduction.Mean, fisher, logits, _batch!.Labels, _vectors, 1, random);
        }
        else
        {
            BackpropagatedVectors.Compute(Loss, LossReduction.Mean, fisher, logits, new ReadOnlySpan2D<T>(_batch!.Targets!, rows, c), _vectors, 1, random);
        }

        foreach (var m in _modules)
        {
            m.ClearOutputGradients();
        }

        for (int k = 0; k < v; k++)
        {
            Backward(new Tensor<T>(_vectors.AsSpan(k * rows * c, rows * c).ToArray(), output.Shape), accumulate: false);
        }
    }

    /// <summary>Hands every layer's input and recorded output gradients (stacked as <c>[V, …output…]</c>) to the optimizer.</summary>
    public void Observe(CurvatureOptimizer<T> optimizer)
    {
        foreach (var m in _modules)
        {
            if (m.Spec is not { Kind: not LayerKind.Parameter } || m.Observed is not { } a)
            {
                continue;
            }

            var grads = m.OutputGradients;
            int each = grads[0].Length;
            var g = new T[grads.Count * each];
            for (int k = 0; k < grads.Count; k++)
            {
                grads[k].CopyTo(g, k * each);
            }

            optimizer.Observe(m.Spec.Name, a.Data, a.Shape, g, [grads.Count, .. m.OutputShape]);
        }
    }

    private void Backward(Tensor<T> grad, bool accumulate)
    {
        for (int i = _modules.Length - 1; i >= 0; i--)
        {
            grad = _modules[i].Backward(grad, accumulate);
        }
    }

    /// <summary>Mean-reduced loss and its gradient with respect to the output (PyTorch's conventions).</summary>
    private (double Loss, Tensor<T> Grad) LossAndOutputGradient(Tensor<T> output, Batch<T> batch)
    {
        int rows = output.Shape[0], c = output.Data.Length / rows;
        var grad = Tensor<T>.Zeros(output.Shape);
        double loss = 0;
        for (int r = 0; r < rows; r++)
        {
            var f = output.Data.AsSpan(r * c, c);
            var g = grad.Data.AsSpan(r * c, c);
            switch (Loss)
            {
                case LossFunction.CrossEntropy:
                {
                    double max = double.NegativeInfinity;
                    foreach (T v in f)
                    {
                        max = Math.Max(max, double.CreateChecked(v));
                    }

                    double sum = 0;
                    foreach (T v in f)
                    {
                        sum += Math.Exp(double.CreateChecked(v) - max);
                    }

                    int label = batch.Labels![r];
                    loss += Math.Log(sum) + max - double.CreateChecked(f[label]);
                    for (int j = 0; j < c; j++)
                    {
                        double p = Math.Exp(double.CreateChecked(f[j]) - max) / sum;
                        g[j] = T.CreateChecked((p - (j == label ? 1 : 0)) / rows);
                    }

                    break;
                }

                case LossFunction.MeanSquaredError:
                    for (int j = 0; j < c; j++)
                    {
                        double e = double.CreateChecked(f[j]) - double.CreateChecked(batch.Targets![(r * c) + j]);
                        loss += e * e / c;
                        g[j] = T.CreateChecked(2 * e / (rows * c));
                    }

                    break;

                default:
                    for (int j = 0; j < c; j++)
                    {
                        double z = double.CreateChecked(f[j]), y = double.CreateChecked(batch.Targets![(r * c) + j]);
                        loss += (Math.Max(z, 0) - (z * y) + Math.Log(1 + Math.Exp(-Math.Abs(z)))) / c;
                        g[j] = T.CreateChecked(((1 / (1 + Math.Exp(-z))) - y) / (rows * c));
                    }

                    break;
            }
        }

        return (loss / rows, grad);
    }
}
