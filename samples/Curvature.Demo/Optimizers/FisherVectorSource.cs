using CommunityToolkit.HighPerformance;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Loss;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// Produces the loss side's Fisher output vectors (Curvature's <see cref="BackpropagatedVectors"/>) for the demo's mean
/// losses and backpropagates them: afterwards every layer's <see cref="DenseLayer.OutputGradient"/> holds <c>g</c> of
/// those vectors, with the mean's <c>1/N</c> in it, which is the scaling the Curvature optimizers take. One vector per
/// example (Monte-Carlo with one sample, or empirical).
/// </summary>
internal sealed class FisherVectorSource
{
    private readonly FisherType _fisher;
    private readonly Random _random;
    private double[] _vectors = [];

    /// <summary>Creates the source; Monte-Carlo draws come from a <see cref="Random"/> seeded by <paramref name="seed"/>.</summary>
    public FisherVectorSource(FisherType fisher, int seed)
    {
        if (fisher is not (FisherType.MonteCarlo or FisherType.Empirical))
        {
            throw new ArgumentOutOfRangeException(nameof(fisher), fisher, "The demo uses the Monte-Carlo (one sample) or the empirical Fisher.");
        }

        _fisher = fisher;
        _random = new Random(seed);
    }

    /// <summary>Short description for the settings column.</summary>
    public string Description => _fisher == FisherType.MonteCarlo ? "MC Fisher" : "empirical Fisher";

    /// <summary>Draws the output vectors for this batch and backpropagates them to every layer's output gradient.</summary>
    public void Backpropagate(Model model, Batch batch)
    {
        var outputs = model.Outputs;
        int rows = outputs.Height, classes = outputs.Width;
        int plane = rows * classes;
        if (_vectors.Length != plane)
        {
            _vectors = new double[plane];
        }

        if (model.LossKind == LossKind.MeanSquaredError)
        {
            BackpropagatedVectors.Compute<double>(LossFunction.MeanSquaredError, LossReduction.Mean, _fisher, outputs, batch.Targets, _vectors, 1, _random);
        }
        else
        {
            BackpropagatedVectors.ComputeCrossEntropy<double>(LossReduction.Mean, _fisher, outputs, batch.Labels, _vectors, 1, _random);
        }

        model.BackpropagateOutputVectors(new ReadOnlySpan2D<double>(_vectors, 0, rows, classes, 0));
    }
}
