using System.Diagnostics.Metrics;
using Curvature.Diagnostics;
using Xunit;

namespace Curvature.Tests.Diagnostics;

/// <summary>
/// Tests that attach a <see cref="MeterListener"/> to the Curvature meter (or rely on none being attached) run one at a time:
/// a listener enables the instruments process-wide.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Curvature metrics (not parallel)";
}

/// <summary>One measurement seen by <see cref="MetricsCapture"/>.</summary>
internal sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, string?> Tags)
{
    public string? Tag(string name) => Tags.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A <see cref="MeterListener"/> on the Curvature meter that keeps the measurements recorded on the thread that created it
/// (measurement callbacks run on the recording thread, so tests running at the same time do not leak in).
/// An optional callback runs on every kept measurement (e.g. to cancel a token in the middle of an operation).
/// </summary>
internal sealed class MetricsCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private readonly List<Measurement> _measurements = [];
    private readonly Dictionary<string, Instrument> _instruments = [];

    public MetricsCapture(Action<Measurement>? onMeasurement = null)
    {
        OnMeasurement = onMeasurement;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CurvatureMetrics.MeterName)
            {
                lock (_instruments)
                {
                    _instruments[instrument.Name] = instrument;
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    public Action<Measurement>? OnMeasurement { get; set; }

    public IReadOnlyDictionary<string, Instrument> Instruments
    {
        get
        {
            lock (_instruments)
            {
                return new Dictionary<string, Instrument>(_instruments);
            }
        }
    }

    public IReadOnlyList<Measurement> Measurements => _measurements;

    public IReadOnlyList<Measurement> Of(string instrument) => [.. _measurements.Where(m => m.Instrument == instrument)];

    public void Clear() => _measurements.Clear();

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (Environment.CurrentManagedThreadId != _thread)
        {
            return;
        }

        var dict = new Dictionary<string, string?>();
        foreach (var t in tags)
        {
            dict[t.Key] = t.Value?.ToString();
        }

        var m = new Measurement(instrument.Name, value, dict);
        _measurements.Add(m);
        OnMeasurement?.Invoke(m);
    }
}
