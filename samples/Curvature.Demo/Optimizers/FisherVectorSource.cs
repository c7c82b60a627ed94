using CommunityToolkit.HighPerformance;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Loss;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// Produces the loss side's Fisher output vectors (Curvature's <see cref="BackpropagatedVectors"/>) for the demo's
/// losses and backpropagates them one at a time, handing each layer's <c>(a, N·g)</c> to a callback: <c>N·g</c> is the
/// per-example output gradient, since the demo's losses are means over the batch and the vectors carry their <c>1/N</c>.
/// One vector per example (Monte-Carlo with one sample, or empirical), so every consumer sees one batch per step.
/// </summary>
internal sealed class FisherVectorSource
{
    private readonly FisherType _fisher;
    private readonly Random _random;
    private double[] _vectors = [];
    private double[][] _scaled = [];
    private int _rows;

    /// <summary>Creates the source; Monte-Carlo draws come from a <see cref="Random"/> seeded by <paramref name="seed"/>.</summary>
    public FisherVectorSource(FisherType fisher, int seed)
    {
        if (fisher is not (FisherType.MonteCarlo or FisherType.Empirical))
        {
            throw new ArgumentOutOfRangeException(nameof(fisher), fisher, "The demo's adapters use the Monte-Carlo (one sample) or the empirical Fisher.");
        }

        _fisher = fisher;
        _random = new Random(seed);
    }

    /// <summary>The Fisher type.</summary>
    public FisherType Fisher => _fisher;

    /// <summary>Short description for the settings column.</summary>
    public string Description => _fisher == FisherType.MonteCarlo ? "MC Fisher" : "empirical Fisher";

    /// <summary>
    /// Draws the output vectors for this batch and backpropagates them; afterwards <see cref="PerExampleGradient"/>
    /// holds every layer's <c>N·g</c> (the layers' <see cref="DenseLayer.Input"/> is <c>a</c>).
    /// </summary>
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

        var layers = model.Layers;
        if (_scaled.Length != layers.Count)
        {
            _scaled = layers.Select(l => new double[l.Capacity * l.OutputSize]).ToArray();
        }

        model.BackpropagateOutputVectors(new ReadOnlySpan2D<double>(_vectors, 0, rows, classes, 0));
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var g = layer.OutputGradient;
            var scaled = new Span2D<double>(_scaled[l], 0, rows, layer.OutputSize, 0);
            for (int r = 0; r < rows; r++)
            {
                var source = g.GetRowSpan(r);
                var target = scaled.GetRowSpan(r);
                for (int j = 0; j < source.Length; j++)
                {
                    target[j] = rows * source[j];
                }
            }

            _rows = rows;
        }
    }

    /// <summary>The per-example output gradient <c>N·g</c> of layer <paramref name="layer"/> from the last <see cref="Backpropagate"/>, <c>[N, D_out]</c>.</summary>
    public ReadOnlySpan2D<double> PerExampleGradient(int layer, int outputSize) => new(_scaled[layer], 0, _rows, outputSize, 0);
}
