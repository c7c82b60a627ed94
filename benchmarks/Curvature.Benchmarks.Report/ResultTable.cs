namespace Curvature.Benchmarks.Report;

/// <summary>All medians of one run, indexed by (implementation, kernel, dtype, n, threads).</summary>
internal sealed class ResultTable
{
    private readonly Dictionary<CellKey, Measurement> _cells = [];

    /// <summary>Adds measurements; a later duplicate replaces an earlier one.</summary>
    public void AddRange(IEnumerable<Measurement> measurements)
    {
        foreach (var m in measurements)
        {
            _cells[new CellKey(m.Implementation, m.Kernel, m.DType, m.N, m.Threads)] = m;
        }
    }

    /// <summary>Number of medians.</summary>
    public int Count => _cells.Count;

    /// <summary>The implementations that have at least one median.</summary>
    public IReadOnlySet<string> Implementations => _cells.Keys.Select(k => k.Implementation).ToHashSet();

    /// <summary>Sorted matrix orders that occur for a kernel.</summary>
    public int[] Sizes(string kernel) => [.. _cells.Keys.Where(k => k.Kernel == kernel).Select(k => k.N).Distinct().Order()];

    /// <summary>Whether anything was measured for this kernel, dtype and thread count.</summary>
    public bool Any(string kernel, string dtype, int threads) =>
        _cells.Keys.Any(k => k.Kernel == kernel && k.DType == dtype && k.Threads == threads);

    /// <summary>The measurement of a cell, or null.</summary>
    public Measurement? Get(string implementation, string kernel, string dtype, int n, int threads) =>
        _cells.GetValueOrDefault(new CellKey(implementation, kernel, dtype, n, threads));

    /// <summary>The median in nanoseconds of a cell, or null.</summary>
    public double? Median(string implementation, string kernel, string dtype, int n, int threads) =>
        Get(implementation, kernel, dtype, n, threads)?.MedianNs;

    /// <summary><c>time(numerator) / time(denominator)</c> for one cell, or null when either is missing.</summary>
    public double? Ratio(string numerator, string denominator, string kernel, string dtype, int n, int threads) =>
        Median(numerator, kernel, dtype, n, threads) is double a && Median(denominator, kernel, dtype, n, threads) is double b && b > 0
            ? a / b
            : null;

    /// <summary>Geometric mean over n of <see cref="Ratio"/>, or null when no n has both.</summary>
    public double? GeometricMeanRatio(string numerator, string denominator, string kernel, string dtype, int threads)
    {
        var ratios = Sizes(kernel).Select(n => Ratio(numerator, denominator, kernel, dtype, n, threads)).OfType<double>().ToArray();
        return ratios.Length == 0 ? null : Math.Exp(ratios.Average(Math.Log));
    }
}
