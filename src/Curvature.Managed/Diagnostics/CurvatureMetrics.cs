using System.Diagnostics;
using System.Diagnostics.Metrics;
using Curvature.Backends;

namespace Curvature.Diagnostics;

/// <summary>
/// The names of the metrics Curvature publishes through <see cref="System.Diagnostics.Metrics"/>: one <see cref="Meter"/>
/// named <see cref="MeterName"/> with the instruments below. Subscribe with OpenTelemetry (<c>AddMeter("Curvature")</c>),
/// <c>dotnet-counters</c> or a <see cref="MeterListener"/>.
/// </summary>
/// <remarks>
/// Recording is skipped when no listener has enabled an instrument, so a process that does not collect metrics pays a
/// flag check and allocates nothing. Every instrument carries at most three tags; tag values are fixed, low-cardinality
/// strings (<see cref="ElementTypeTag"/>: <c>float32</c> or <c>float64</c>; <see cref="BackendTag"/>: <c>managed</c>,
/// <c>openblas</c> or <c>mkl</c>).
/// </remarks>
public static class CurvatureMetrics
{
    /// <summary>The name of the meter: <c>Curvature</c>.</summary>
    public const string MeterName = "Curvature";

    /// <summary>
    /// Histogram, seconds: how long recomputing the damped inverse of one Kronecker block took (Cholesky inverses of both
    /// factors, or their eigendecompositions for exact damping), one value per block and successful refresh.
    /// Tags <see cref="ElementTypeTag"/>, <see cref="BackendTag"/>.
    /// </summary>
    public const string InverseRefreshDuration = "curvature.inverse.refresh.duration";

    /// <summary>
    /// Histogram, seconds: how long recomputing the eigenbasis of one EKFAC block took (eigendecompositions of both
    /// factors), one value per block and successful refresh. Tags <see cref="ElementTypeTag"/>, <see cref="BackendTag"/>.
    /// </summary>
    public const string EigenbasisRefreshDuration = "curvature.eigenbasis.refresh.duration";

    /// <summary>
    /// Histogram, factor updates (<c>{update}</c>): each time a preconditioner applies a cached inverse, how many factor
    /// updates have happened since the factors it was computed from (0 = fresh). A histogram rather than a gauge, so
    /// nothing has to keep the preconditioners alive to observe them. Tag <see cref="ElementTypeTag"/>.
    /// </summary>
    public const string InverseLag = "curvature.inverse.lag";

    /// <summary>
    /// Counter (<c>{failure}</c>): a factorization failed for numerical reasons (a damped factor not positive definite, an
    /// eigensolver that did not converge, a non-positive EKFAC eigenvalue plus damping); a float32 attempt that is then
    /// retried in float64 counts too. Tags <see cref="RoutineTag"/>, <see cref="ElementTypeTag"/>, <see cref="BackendTag"/>.
    /// </summary>
    public const string FactorizationFailures = "curvature.factorization.failures";

    /// <summary>
    /// Counter (<c>{retry}</c>): a float32 Cholesky inverse failed and was retried in float64.
    /// Tags <see cref="OutcomeTag"/> (<c>succeeded</c> or <c>failed</c>), <see cref="BackendTag"/>.
    /// </summary>
    public const string Float64Retries = "curvature.float64.retries";

    /// <summary>
    /// Counter (<c>{step}</c>): an optimizer step was rejected (nothing was changed). Tag <see cref="ReasonTag"/>.
    /// </summary>
    public const string StepsRejected = "curvature.steps.rejected";

    /// <summary>Tag: the element type, <c>float32</c> or <c>float64</c>.</summary>
    public const string ElementTypeTag = "curvature.element_type";

    /// <summary>Tag: the backend kind, <c>managed</c>, <c>openblas</c> or <c>mkl</c>.</summary>
    public const string BackendTag = "curvature.backend";

    /// <summary>Tag: the failed routine, <c>potrf</c>, <c>potri</c> or <c>syevd</c> (LAPACK names), or <c>ekfac</c>.</summary>
    public const string RoutineTag = "curvature.routine";

    /// <summary>Tag: whether a float64 retry <c>succeeded</c> or <c>failed</c>.</summary>
    public const string OutcomeTag = "curvature.outcome";

    /// <summary>Tag: why a step was rejected (a short snake_case word, e.g. <c>non_finite_gradient</c>).</summary>
    public const string ReasonTag = "curvature.reason";

    private static readonly Meter s_meter = new(MeterName, typeof(CurvatureMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Histogram<double> s_inverseRefresh = s_meter.CreateHistogram<double>(
        InverseRefreshDuration, "s", "Time to recompute the damped inverse of one Kronecker block.");

    private static readonly Histogram<double> s_eigenbasisRefresh = s_meter.CreateHistogram<double>(
        EigenbasisRefreshDuration, "s", "Time to recompute the eigenbasis of one EKFAC block.");

    private static readonly Histogram<long> s_inverseLag = s_meter.CreateHistogram<long>(
        InverseLag, "{update}", "Factor updates since the factors the applied inverse was computed from.");

    private static readonly Counter<long> s_factorizationFailures = s_meter.CreateCounter<long>(
        FactorizationFailures, "{failure}", "Factorizations that failed for numerical reasons.");

    private static readonly Counter<long> s_float64Retries = s_meter.CreateCounter<long>(
        Float64Retries, "{retry}", "Failed float32 Cholesky inverses retried in float64.");

    private static readonly Counter<long> s_stepsRejected = s_meter.CreateCounter<long>(
        StepsRejected, "{step}", "Optimizer steps rejected with the state left unchanged.");

    /// <summary>Whether <see cref="InverseRefreshDuration"/> is being listened to (worth taking a timestamp for).</summary>
    internal static bool InverseRefreshEnabled => s_inverseRefresh.Enabled;

    /// <summary>Whether <see cref="EigenbasisRefreshDuration"/> is being listened to.</summary>
    internal static bool EigenbasisRefreshEnabled => s_eigenbasisRefresh.Enabled;

    /// <summary>Records one block's inverse refresh (<see cref="InverseRefreshDuration"/>).</summary>
    internal static void RecordInverseRefresh(TimeSpan elapsed, string elementType, BackendKind backend)
    {
        if (s_inverseRefresh.Enabled)
        {
            s_inverseRefresh.Record(elapsed.TotalSeconds, new TagList { { ElementTypeTag, elementType }, { BackendTag, BackendName(backend) } });
        }
    }

    /// <summary>Records one block's inverse refresh that started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal static void RecordInverseRefresh<T>(long startTimestamp, BackendKind backend)
    {
        if (s_inverseRefresh.Enabled && startTimestamp != 0)
        {
            RecordInverseRefresh(Stopwatch.GetElapsedTime(startTimestamp), ElementTypeName<T>(), backend);
        }
    }

    /// <summary>Records one block's eigenbasis refresh (<see cref="EigenbasisRefreshDuration"/>).</summary>
    internal static void RecordEigenbasisRefresh(TimeSpan elapsed, string elementType, BackendKind backend)
    {
        if (s_eigenbasisRefresh.Enabled)
        {
            s_eigenbasisRefresh.Record(elapsed.TotalSeconds, new TagList { { ElementTypeTag, elementType }, { BackendTag, BackendName(backend) } });
        }
    }

    /// <summary>Records one block's eigenbasis refresh that started at <paramref name="startTimestamp"/>.</summary>
    internal static void RecordEigenbasisRefresh<T>(long startTimestamp, BackendKind backend)
    {
        if (s_eigenbasisRefresh.Enabled && startTimestamp != 0)
        {
            RecordEigenbasisRefresh(Stopwatch.GetElapsedTime(startTimestamp), ElementTypeName<T>(), backend);
        }
    }

    /// <summary>Records the lag, in factor updates, of an inverse being applied (<see cref="InverseLag"/>).</summary>
    internal static void RecordInverseLag(long updates, string elementType)
    {
        if (s_inverseLag.Enabled)
        {
            s_inverseLag.Record(updates, new TagList { { ElementTypeTag, elementType } });
        }
    }

    /// <summary>Records the lag of an inverse of element type <typeparamref name="T"/> being applied.</summary>
    internal static void RecordInverseLag<T>(long updates) => RecordInverseLag(updates, ElementTypeName<T>());

    /// <summary>Counts a failed factorization (<see cref="FactorizationFailures"/>).</summary>
    internal static void RecordFactorizationFailure(string routine, string elementType, BackendKind backend)
    {
        if (s_factorizationFailures.Enabled)
        {
            s_factorizationFailures.Add(1, new TagList { { RoutineTag, routine }, { ElementTypeTag, elementType }, { BackendTag, BackendName(backend) } });
        }
    }

    /// <summary>Counts a float64 retry of a failed float32 Cholesky inverse (<see cref="Float64Retries"/>).</summary>
    internal static void RecordFloat64Retry(bool succeeded, BackendKind backend)
    {
        if (s_float64Retries.Enabled)
        {
            s_float64Retries.Add(1, new TagList { { OutcomeTag, succeeded ? "succeeded" : "failed" }, { BackendTag, BackendName(backend) } });
        }
    }

    /// <summary>Counts a rejected optimizer step (<see cref="StepsRejected"/>); <paramref name="reason"/> must be a constant, low-cardinality word.</summary>
    internal static void RecordStepRejected(string reason)
    {
        if (s_stepsRejected.Enabled)
        {
            s_stepsRejected.Add(1, new TagList { { ReasonTag, reason } });
        }
    }

    /// <summary>A timestamp to pass to a <c>Record…Refresh</c> method, or 0 (no clock read) when nobody listens to <paramref name="enabled"/>.</summary>
    internal static long StartTimestamp(bool enabled) => enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>The <see cref="ElementTypeTag"/> value of <typeparamref name="T"/>: <c>float32</c>, <c>float64</c>, or the type name.</summary>
    internal static string ElementTypeName<T>() =>
        typeof(T) == typeof(float) ? "float32" : typeof(T) == typeof(double) ? "float64" : typeof(T).Name;

    /// <summary>The <see cref="BackendTag"/> value of a backend kind.</summary>
    internal static string BackendName(BackendKind kind) => kind switch
    {
        BackendKind.Managed => "managed",
        BackendKind.OpenBlas => "openblas",
        BackendKind.Mkl => "mkl",
        _ => "other",
    };
}
