using CommunityToolkit.HighPerformance;
using Curvature.Demo.Data;

namespace Curvature.Demo.NeuralNet;

/// <summary>Which loss a model is trained with (curvature methods pick their Fisher's loss-side vectors by it).</summary>
public enum LossKind
{
    /// <summary>Squared error averaged over all <c>N·C</c> entries, <c>Σ(f − y)² / (N·C)</c> (PyTorch <c>MSELoss(reduction="mean")</c>).</summary>
    MeanSquaredError,

    /// <summary>Softmax cross-entropy averaged over the <c>N</c> rows (PyTorch <c>CrossEntropyLoss(reduction="mean")</c>).</summary>
    CrossEntropy,
}

/// <summary>Loss values and gradients w.r.t. the network outputs, mean-reduced as described by <see cref="LossKind"/>.</summary>
public static class Loss
{
    /// <summary>
    /// Returns the mean loss of <paramref name="outputs"/> against the batch's targets, and, unless
    /// <paramref name="gradient"/> is empty, writes <c>∂loss/∂outputs</c> into it. For cross-entropy,
    /// <paramref name="correct"/> receives the number of rows whose arg-max is the label.
    /// </summary>
    public static double Evaluate(LossKind kind, ReadOnlySpan2D<double> outputs, Batch batch, Span2D<double> gradient, out int correct)
    {
        int n = outputs.Height, c = outputs.Width;
        bool withGradient = !gradient.IsEmpty;
        correct = 0;
        double total = 0;
        if (kind == LossKind.MeanSquaredError)
        {
            var targets = batch.Targets;
            double scale = 2.0 / ((double)n * c);
            for (int r = 0; r < n; r++)
            {
                var f = outputs.GetRowSpan(r);
                var y = targets.GetRowSpan(r);
                var d = withGradient ? gradient.GetRowSpan(r) : default;
                for (int j = 0; j < c; j++)
                {
                    double e = f[j] - y[j];
                    total += e * e;
                    if (withGradient)
                    {
                        d[j] = scale * e;
                    }
                }
            }

            return total / ((double)n * c);
        }

        var labels = batch.Labels;
        for (int r = 0; r < n; r++)
        {
            var f = outputs.GetRowSpan(r);
            int label = labels[r];
            double max = double.NegativeInfinity;
            int argMax = 0;
            for (int j = 0; j < c; j++)
            {
                if (f[j] > max)
                {
                    max = f[j];
                    argMax = j;
                }
            }

            if (argMax == label)
            {
                correct++;
            }

            double sum = 0;
            for (int j = 0; j < c; j++)
            {
                sum += Math.Exp(f[j] - max);
            }

            double logSum = max + Math.Log(sum);
            total += logSum - f[label];
            if (withGradient)
            {
                var d = gradient.GetRowSpan(r);
                for (int j = 0; j < c; j++)
                {
                    d[j] = Math.Exp(f[j] - logSum) / n;
                }

                d[label] -= 1.0 / n;
            }
        }

        return total / n;
    }
}
