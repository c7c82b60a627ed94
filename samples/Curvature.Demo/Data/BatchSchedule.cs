namespace Curvature.Demo.Data;

/// <summary>
/// The order in which training examples are visited: one seeded shuffle per epoch, cut into batches.
/// Every optimizer of a run trains on exactly the same sequence of batches.
/// </summary>
public sealed class BatchSchedule
{
    private readonly int[] _indices;

    /// <summary>Plans <paramref name="steps"/> batches of <paramref name="batchSize"/> examples out of <paramref name="exampleCount"/>.</summary>
    public BatchSchedule(int exampleCount, int batchSize, int steps, DemoRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, exampleCount);
        BatchSize = batchSize;
        Steps = steps;
        _indices = new int[(long)steps * batchSize > int.MaxValue ? throw new ArgumentOutOfRangeException(nameof(steps)) : steps * batchSize];
        int batchesPerEpoch = exampleCount / batchSize; // the incomplete tail of each shuffle is dropped
        var permutation = new int[exampleCount];
        for (int step = 0; step < steps; step++)
        {
            int inEpoch = step % batchesPerEpoch;
            if (inEpoch == 0)
            {
                for (int i = 0; i < exampleCount; i++)
                {
                    permutation[i] = i;
                }

                random.Shuffle(permutation);
            }

            permutation.AsSpan(inEpoch * batchSize, batchSize).CopyTo(_indices.AsSpan(step * batchSize, batchSize));
        }
    }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Number of planned steps.</summary>
    public int Steps { get; }

    /// <summary>The example indices of batch <paramref name="step"/> (0-based).</summary>
    public ReadOnlySpan<int> this[int step] => _indices.AsSpan(step * BatchSize, BatchSize);
}
