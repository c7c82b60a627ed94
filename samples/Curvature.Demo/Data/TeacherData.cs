namespace Curvature.Demo.Data;

/// <summary>
/// Data for the classifier task: Gaussian inputs labelled by a fixed random "teacher" network, with label noise.
/// </summary>
/// <remarks>
/// <c>label = argmax(T₂ tanh(T₁ x + b₁))</c>, with the teacher's logits centred per class so that classes are roughly
/// balanced; then a fraction <c>labelNoise</c> of labels (train and test alike) is replaced by a uniformly random class,
/// so no model can exceed about <c>1 − labelNoise·(1 − 1/classes)</c> test accuracy.
/// </remarks>
public static class TeacherData
{
    /// <summary>Generates a train and a test set from one teacher.</summary>
    public static (Dataset Train, Dataset Test) Create(int seed, int trainCount, int testCount, int inputSize = 32, int hidden = 8, int classes = 8, double labelNoise = 0.1)
    {
        var random = new DemoRandom(seed, stream: 202);
        var t1 = new double[hidden * inputSize];
        var b1 = new double[hidden];
        var t2 = new double[classes * hidden];
        random.FillGaussian(t1, 1.0 / Math.Sqrt(inputSize));
        random.FillGaussian(b1, 0.5);
        random.FillGaussian(t2, 1.0);

        int total = trainCount + testCount;
        var inputs = new double[total * inputSize];
        random.FillGaussian(inputs);
        var logits = new double[total * classes];
        var h = new double[hidden];
        for (int n = 0; n < total; n++)
        {
            for (int i = 0; i < hidden; i++)
            {
                double s = b1[i];
                for (int j = 0; j < inputSize; j++)
                {
                    s += t1[(i * inputSize) + j] * inputs[(n * inputSize) + j];
                }

                h[i] = Math.Tanh(s);
            }

            for (int k = 0; k < classes; k++)
            {
                double s = 0;
                for (int i = 0; i < hidden; i++)
                {
                    s += t2[(k * hidden) + i] * h[i];
                }

                logits[(n * classes) + k] = s;
            }
        }

        // Centre each class's logit over the data so that no class dominates the argmax.
        for (int k = 0; k < classes; k++)
        {
            double mean = 0;
            for (int n = 0; n < total; n++)
            {
                mean += logits[(n * classes) + k];
            }

            mean /= total;
            for (int n = 0; n < total; n++)
            {
                logits[(n * classes) + k] -= mean;
            }
        }

        var labels = new int[total];
        for (int n = 0; n < total; n++)
        {
            int best = 0;
            for (int k = 1; k < classes; k++)
            {
                if (logits[(n * classes) + k] > logits[(n * classes) + best])
                {
                    best = k;
                }
            }

            labels[n] = random.NextDouble() < labelNoise ? random.NextInt(classes) : best;
        }

        var train = Dataset.ForClassification(inputs[..(trainCount * inputSize)], inputSize, labels[..trainCount], classes);
        var test = Dataset.ForClassification(inputs[(trainCount * inputSize)..], inputSize, labels[trainCount..], classes);
        return (train, test);
    }
}
