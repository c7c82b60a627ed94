using CommunityToolkit.HighPerformance;

namespace Curvature.Ekfac.Internals;

/// <summary>A few grow-only scratch buffers (reused between calls).</summary>
internal sealed class Workspace<T>
    where T : unmanaged
{
    private readonly T[][] _buffers;

    public Workspace(int count)
    {
        _buffers = new T[count][];
        for (int i = 0; i < count; i++)
        {
            _buffers[i] = [];
        }
    }

    public Span2D<T> Get(int index, int rows, int cols)
    {
        int needed = rows * cols;
        if (_buffers[index].Length < needed)
        {
            _buffers[index] = new T[needed];
        }

        return new Span2D<T>(_buffers[index], 0, rows, cols, 0);
    }
}
