using CommunityToolkit.HighPerformance;

namespace Curvature.Demo.Data;

/// <summary>
/// An in-memory data set: inputs <c>[Count, InputSize]</c> row-major, and either real-valued targets
/// <c>[Count, TargetSize]</c> (regression, autoencoding) or class labels (classification).
/// </summary>
public sealed class Dataset
{
    private readonly double[] _inputs;
    private readonly double[]? _targets;
    private readonly int[]? _labels;

    private Dataset(double[] inputs, int inputSize, double[]? targets, int targetSize, int[]? labels, int classCount)
    {
        _inputs = inputs;
        InputSize = inputSize;
        Count = inputs.Length / inputSize;
        _targets = targets;
        TargetSize = targetSize;
        _labels = labels;
        ClassCount = classCount;
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Features per example.</summary>
    public int InputSize { get; }

    /// <summary>Target values per example (0 for a classification set).</summary>
    public int TargetSize { get; }

    /// <summary>Number of classes (0 for a regression set).</summary>
    public int ClassCount { get; }

    /// <summary>Whether examples carry class labels rather than real-valued targets.</summary>
    public bool IsClassification => _labels is not null;

    /// <summary>All inputs, <c>[Count, InputSize]</c>.</summary>
    public ReadOnlySpan2D<double> Inputs => new(_inputs, Count, InputSize);

    /// <summary>A regression set whose targets are given explicitly (they may be the inputs themselves).</summary>
    public static Dataset ForRegression(double[] inputs, int inputSize, double[] targets, int targetSize)
    {
        if (inputs.Length % inputSize != 0 || targets.Length != inputs.Length / inputSize * targetSize)
        {
            throw new ArgumentException("Inputs and targets do not describe the same number of examples.");
        }

        return new Dataset(inputs, inputSize, targets, targetSize, null, 0);
    }

    /// <summary>A classification set with one label in [0, classCount) per example.</summary>
    public static Dataset ForClassification(double[] inputs, int inputSize, int[] labels, int classCount)
    {
        if (inputs.Length != labels.Length * inputSize)
        {
            throw new ArgumentException("Inputs and labels do not describe the same number of examples.");
        }

        return new Dataset(inputs, inputSize, null, 0, labels, classCount);
    }

    /// <summary>Copies the examples at <paramref name="indices"/> into <paramref name="batch"/>.</summary>
    public void Gather(ReadOnlySpan<int> indices, Batch batch)
    {
        batch.Resize(indices.Length);
        for (int r = 0; r < indices.Length; r++)
        {
            CopyExample(indices[r], r, batch);
        }
    }

    /// <summary>Copies <paramref name="count"/> consecutive examples from <paramref name="start"/> into <paramref name="batch"/>.</summary>
    public void Slice(int start, int count, Batch batch)
    {
        batch.Resize(count);
        for (int r = 0; r < count; r++)
        {
            CopyExample(start + r, r, batch);
        }
    }

    /// <summary>A batch buffer shaped for this data set.</summary>
    public Batch CreateBatch(int capacity) => new(capacity, InputSize, TargetSize, IsClassification);

    private void CopyExample(int example, int row, Batch batch)
    {
        _inputs.AsSpan(example * InputSize, InputSize).CopyTo(batch.InputRow(row));
        if (_labels is not null)
        {
            batch.SetLabel(row, _labels[example]);
        }
        else
        {
            _targets.AsSpan(example * TargetSize, TargetSize).CopyTo(batch.TargetRow(row));
        }
    }
}
