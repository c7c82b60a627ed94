using Curvature.Backends;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;

namespace Curvature.Demo.Training;

/// <summary>One training problem of the demo: data, architecture, loss, batch size, target and learning rates.</summary>
public sealed class DemoTask
{
    /// <summary>Short key, e.g. <c>autoencoder</c> (used in the CSV).</summary>
    public required string Name { get; init; }

    /// <summary>Heading for the table and plot.</summary>
    public required string Title { get; init; }

    /// <summary>One line on where the data come from.</summary>
    public required string DataDescription { get; init; }

    /// <summary>Training set.</summary>
    public required Dataset Train { get; init; }

    /// <summary>Held-out test set from the same distribution.</summary>
    public required Dataset Test { get; init; }

    /// <summary>The loss the network is trained with.</summary>
    public required LossKind Loss { get; init; }

    /// <summary>Layer widths and activations after the input.</summary>
    public required IReadOnlyList<(int Size, Activation Activation)> Layers { get; init; }

    /// <summary>Examples per step.</summary>
    public required int BatchSize { get; init; }

    /// <summary>The training loss (whole training set) whose first crossing is timed.</summary>
    public required double TargetLoss { get; init; }

    /// <summary>What a trivial model scores, to put the numbers in context (e.g. predicting the mean).</summary>
    public required string Baseline { get; init; }

    /// <summary>Learning rate per optimizer key, chosen once as the best of a small grid on the default run.</summary>
    public required IReadOnlyDictionary<string, double> LearningRates { get; init; }

    /// <summary>Builds the task's network on <paramref name="backend"/> with buffers for <paramref name="capacity"/> rows.</summary>
    public Model CreateModel(CurvatureBackend backend, int capacity) =>
        new(new Network(Train.InputSize, Layers, capacity, backend), Loss);
}
