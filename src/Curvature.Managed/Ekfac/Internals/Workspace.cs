using CommunityToolkit.HighPerformance;
using Curvature.Internals;

namespace Curvature.Ekfac.Internals;

/// <summary>A few grow-only, 64-byte-aligned scratch matrices (reused between calls).</summary>
internal sealed class Workspace<T>
    where T : unmanaged
{
    private readonly AlignedBuffer<T>[] _buffers;

    public Workspace(int count)
    {
        _buffers = new AlignedBuffer<T>[count];
        for (int i = 0; i < count; i++)
        {
            _buffers[i] = new AlignedBuffer<T>(0);
        }
    }

    public Span2D<T> Get(int index, int rows, int cols)
    {
        int needed = rows * cols;
        if (_buffers[index].Length < needed)
        {
            _buffers[index] = new AlignedBuffer<T>(needed);
        }

        return _buffers[index].AsSpan2D(rows, cols);
    }
}
