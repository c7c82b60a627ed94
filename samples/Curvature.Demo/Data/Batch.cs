using CommunityToolkit.HighPerformance;

namespace Curvature.Demo.Data;

/// <summary>A reusable mini-batch buffer: inputs <c>[Count, InputSize]</c> and targets or labels.</summary>
public sealed class Batch
{
    private readonly double[] _inputs;
    private readonly double[] _targets;
    private readonly int[] _labels;

    internal Batch(int capacity, int inputSize, int targetSize, bool hasLabels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        InputSize = inputSize;
        TargetSize = targetSize;
        HasLabels = hasLabels;
        _inputs = new double[capacity * inputSize];
        _targets = new double[capacity * targetSize];
        _labels = hasLabels ? new int[capacity] : [];
    }

    /// <summary>Largest number of rows the buffer holds.</summary>
    public int Capacity { get; }

    /// <summary>Rows currently in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Features per row.</summary>
    public int InputSize { get; }

    /// <summary>Real-valued targets per row (0 when the batch carries labels).</summary>
    public int TargetSize { get; }

    /// <summary>Whether the batch carries class labels.</summary>
    public bool HasLabels { get; }

    /// <summary>The inputs, <c>[Count, InputSize]</c>.</summary>
    public ReadOnlySpan2D<double> Inputs => new(_inputs, 0, Count, InputSize, 0);

    /// <summary>The real-valued targets, <c>[Count, TargetSize]</c>.</summary>
    public ReadOnlySpan2D<double> Targets => new(_targets, 0, Count, TargetSize, 0);

    /// <summary>The class labels, one per row.</summary>
    public ReadOnlySpan<int> Labels => _labels.AsSpan(0, HasLabels ? Count : 0);

    internal void Resize(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
    }

    internal Span<double> InputRow(int row) => _inputs.AsSpan(row * InputSize, InputSize);

    internal Span<double> TargetRow(int row) => _targets.AsSpan(row * TargetSize, TargetSize);

    internal void SetLabel(int row, int label) => _labels[row] = label;
}
