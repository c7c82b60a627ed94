namespace Curvature.Demo.Data;

/// <summary>
/// Data for the autoencoder task: points near a low-dimensional nonlinear manifold, a scaled-down stand-in for the
/// MNIST/CURVES/FACES deep-autoencoder problems on which Martens &amp; Grosse (2015) showcased K-FAC.
/// </summary>
/// <remarks>
/// A latent code <c>z ~ N(0, I_latent)</c> is pushed through a fixed random two-layer map,
/// <c>x = sigmoid(M₂ tanh(M₁ z + c₁) + c₂) + noise</c>, so the data fill a curved <c>latent</c>-dimensional sheet in
/// <c>[0, 1]^dimension</c>. Everything is generated from the seed: no downloads.
/// </remarks>
public static class ManifoldData
{
    /// <summary>Generates a train and a test set; both targets and inputs are the points themselves.</summary>
    public static (Dataset Train, Dataset Test) Create(int seed, int trainCount, int testCount, int dimension = 64, int latent = 4, int hidden = 32, double noise = 0.02)
    {
        var random = new DemoRandom(seed, stream: 101);
        var m1 = new double[hidden * latent];
        var c1 = new double[hidden];
        var m2 = new double[dimension * hidden];
        var c2 = new double[dimension];
        random.FillGaussian(m1, 1.0);
        for (int i = 0; i < hidden; i++)
        {
            c1[i] = random.NextDouble(-1, 1);
        }

        random.FillGaussian(m2, 3.0 / Math.Sqrt(hidden));
        random.FillGaussian(c2, 0.5);

        Dataset Generate(int count)
        {
            var points = new double[count * dimension];
            var z = new double[latent];
            var h = new double[hidden];
            for (int n = 0; n < count; n++)
            {
                random.FillGaussian(z);
                for (int i = 0; i < hidden; i++)
                {
                    double s = c1[i];
                    for (int j = 0; j < latent; j++)
                    {
                        s += m1[(i * latent) + j] * z[j];
                    }

                    h[i] = Math.Tanh(s);
                }

                for (int i = 0; i < dimension; i++)
                {
                    double s = c2[i];
                    for (int j = 0; j < hidden; j++)
                    {
                        s += m2[(i * hidden) + j] * h[j];
                    }

                    points[(n * dimension) + i] = (1 / (1 + Math.Exp(-s))) + (noise * random.NextGaussian());
                }
            }

            return Dataset.ForRegression(points, dimension, points, dimension);
        }

        return (Generate(trainCount), Generate(testCount));
    }
}
