using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Training;

/// <summary>The demo's two built-in problems, generated deterministically from the seed.</summary>
public static class DemoTasks
{
    /// <summary>
    /// Deep autoencoder on 64-dimensional points near a 4-dimensional curved manifold, through an 8-unit code
    /// (a scaled-down version of the autoencoder benchmarks of Martens &amp; Grosse 2015, §13).
    /// </summary>
    public static DemoTask Autoencoder(int seed)
    {
        var (train, test) = ManifoldData.Create(seed, trainCount: 2048, testCount: 512);
        return new DemoTask
        {
            Name = "autoencoder",
            Title = "Deep autoencoder",
            DataDescription = "64-dim points near a 4-dim nonlinear manifold (sigmoid(M2 tanh(M1 z + c1) + c2) + noise); 2048 train / 512 test",
            Train = train,
            Test = test,
            Loss = LossKind.MeanSquaredError,
            Layers =
            [
                (128, Activation.Tanh), (32, Activation.Tanh), (8, Activation.Identity),
                (32, Activation.Tanh), (128, Activation.Tanh), (64, Activation.Identity),
            ],
            BatchSize = 128,
            TargetLoss = 0.015,
            Baseline = FormattableString.Invariant($"predicting the training mean gives test MSE {MeanPredictorLoss(train, test):0.0000}"),
            LearningRates = new Dictionary<string, double>
            {
                ["sgd"] = 0.3,
                ["adam"] = 3e-3,
                ["kfac"] = 0.05,
                ["ekfac"] = 0.03,
                ["adafisher"] = 3e-4,
            },
        };
    }

    /// <summary>MLP classifier on inputs labelled by a random teacher network with 10 % label noise.</summary>
    public static DemoTask Classifier(int seed)
    {
        const double labelNoise = 0.1;
        const int classes = 8;
        var (train, test) = TeacherData.Create(seed, trainCount: 8192, testCount: 1024, classes: classes, labelNoise: labelNoise);
        return new DemoTask
        {
            Name = "classifier",
            Title = "MLP classifier",
            DataDescription = FormattableString.Invariant($"32-dim Gaussian inputs, {classes} classes from a random tanh teacher, {labelNoise:P0} label noise; 8192 train / 1024 test"),
            Train = train,
            Test = test,
            Loss = LossKind.CrossEntropy,
            Layers = [(64, Activation.Relu), (64, Activation.Relu), (classes, Activation.Identity)],
            BatchSize = 128,
            TargetLoss = 0.9,
            Baseline = FormattableString.Invariant($"chance is {1.0 / classes:P1}; label noise caps test accuracy near {1 - (labelNoise * (1 - (1.0 / classes))):P1}"),
            LearningRates = new Dictionary<string, double>
            {
                ["sgd"] = 0.1,
                ["adam"] = 3e-2,
                ["kfac"] = 3e-3,
                ["ekfac"] = 3e-3,
                ["adafisher"] = 3e-2,
            },
        };
    }

    /// <summary>Both tasks, in the order they run.</summary>
    public static IReadOnlyList<DemoTask> All(int seed) => [Autoencoder(seed), Classifier(seed)];

    private static double MeanPredictorLoss(Dataset train, Dataset test)
    {
        int d = train.InputSize;
        var mean = new double[d];
        var x = train.Inputs;
        for (int r = 0; r < x.Height; r++)
        {
            for (int j = 0; j < d; j++)
            {
                mean[j] += x[r, j] / x.Height;
            }
        }

        double total = 0;
        var t = test.Inputs;
        for (int r = 0; r < t.Height; r++)
        {
            for (int j = 0; j < d; j++)
            {
                double e = t[r, j] - mean[j];
                total += e * e;
            }
        }

        return total / ((double)t.Height * d);
    }
}
