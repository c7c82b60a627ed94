using System.Numerics;
using CommunityToolkit.HighPerformance;

namespace Curvature.Kfac.Internals;

/// <summary>Grow-only scratch for block products (two packed buffers); sized at construction for K = 1.</summary>
internal sealed class BlockWorkspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _maxBlockDimension;
    private T[] _packed;
    private T[] _scratch;

    public BlockWorkspace(IEnumerable<KfacBlockLayout> blocks)
    {
        _maxBlockDimension = blocks.Select(b => b.Dimension).DefaultIfEmpty(0).Max();
        _packed = new T[_maxBlockDimension];
        _scratch = new T[_maxBlockDimension];
    }

    public void Ensure(int columns)
    {
        int needed = _maxBlockDimension * columns;
        if (_packed.Length < needed)
        {
            _packed = new T[needed];
            _scratch = new T[needed];
        }
    }

    public Span2D<T> Packed(int rows, int cols) => new(_packed, 0, rows, cols, 0);

    public Span2D<T> Scratch(int rows, int cols) => new(_scratch, 0, rows, cols, 0);
}
