namespace Curvature.Demo.Data;

/// <summary>
/// The order in which training examples are visited: every epoch is a seeded shuffle of the training set, cut into
/// batches (the incomplete tail is dropped). Batch <c>k</c> depends only on the seed and <c>k</c>, so every optimizer
/// trains on exactly the same sequence of batches however many steps its budget allows.
/// </summary>
public sealed class BatchOrder
{
    private const ulong EpochStream = 404;
    private readonly int _seed;
    private readonly int[] _permutation;
    private long _epoch = -1;

    /// <summary>Plans batches of <paramref name="batchSize"/> out of <paramref name="exampleCount"/> examples.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The batch size is below 1 or above the number of examples.</exception>
    public BatchOrder(int exampleCount, int batchSize, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, exampleCount);
        ExampleCount = exampleCount;
        BatchSize = batchSize;
        BatchesPerEpoch = exampleCount / batchSize;
        _seed = seed;
        _permutation = new int[exampleCount];
    }

    /// <summary>Examples in the training set.</summary>
    public int ExampleCount { get; }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Complete batches per epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Writes the example indices of batch <paramref name="step"/> (0-based) into <paramref name="indices"/>.</summary>
    public void Fill(long step, Span<long> indices)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (indices.Length != BatchSize)
        {
            throw new ArgumentException($"The destination must hold {BatchSize} indices.", nameof(indices));
        }

        long epoch = step / BatchesPerEpoch;
        if (epoch != _epoch)
        {
            for (int i = 0; i < _permutation.Length; i++)
            {
                _permutation[i] = i;
            }

            new DemoRandom(_seed, EpochStream + (ulong)epoch).Shuffle(_permutation);
            _epoch = epoch;
        }

        int start = (int)(step % BatchesPerEpoch) * BatchSize;
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = _permutation[start + i];
        }
    }
}
