using System.Globalization;

namespace Curvature.Conformance;

/// <summary>Collects relative errors <c>max|x − ref| / max(max|ref|, tiny)</c> per quantity and the failures.</summary>
public sealed class KfacChecks
{
    private const double Tiny = 1e-300;
    private readonly List<string> _failures = [];

    /// <summary>The worst relative error so far.</summary>
    public double Worst { get; private set; }

    /// <summary>The quantity with the worst relative error.</summary>
    public string WorstName { get; private set; } = "";

    /// <summary>Number of quantities compared.</summary>
    public int Count { get; private set; }

    /// <summary>True when nothing failed.</summary>
    public bool Passed => _failures.Count == 0;

    /// <summary>The failures.</summary>
    public IReadOnlyList<string> Failures => _failures;

    /// <summary>Compares arrays.</summary>
    public void Compare(string name, ReadOnlySpan<double> actual, ReadOnlySpan<double> reference, double tolerance)
    {
        if (actual.Length != reference.Length)
        {
            Fail($"{name}: length {actual.Length} vs reference {reference.Length}");
            return;
        }

        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs(actual[i] - reference[i]);
            maxDiff = double.IsNaN(diff) ? double.NaN : Math.Max(maxDiff, diff);
            maxRef = Math.Max(maxRef, Math.Abs(reference[i]));
        }

        Record(name, maxDiff / Math.Max(maxRef, Tiny), tolerance);
    }

    /// <summary>Compares scalars.</summary>
    public void Compare(string name, double actual, double reference, double tolerance) => Compare(name, [actual], [reference], tolerance);

    /// <summary>Records an error measure that is already absolute (e.g. a distance to exact labels).</summary>
    public void CompareAbsolute(string name, double error, double tolerance) => Record(name, error, tolerance);

    /// <summary>Records a failure that is not a numerical comparison.</summary>
    public void Fail(string message)
    {
        _failures.Add(message);
        Worst = double.NaN;
    }

    /// <summary>A one-line summary.</summary>
    public string Summary(string part) => Passed
        ? string.Create(CultureInfo.InvariantCulture, $"{Count} quantities, worst {WorstName} {Worst:0.##e+00}")
        : $"{part}: {string.Join("; ", _failures.Take(5))}{(_failures.Count > 5 ? $" (+{_failures.Count - 5} more)" : "")}";

    private void Record(string name, double relative, double tolerance)
    {
        Count++;
        if (double.IsNaN(relative) || relative > tolerance)
        {
            _failures.Add(string.Create(CultureInfo.InvariantCulture, $"{name} rel={relative:0.###e+00} > {tolerance:0e+00}"));
        }

        if (double.IsNaN(Worst))
        {
            return;
        }

        if (double.IsNaN(relative) || relative > Worst || Count == 1)
        {
            Worst = relative;
            WorstName = name;
        }
    }
}
