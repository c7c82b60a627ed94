using System.Numerics;
using Curvature.Backends;
using Curvature.Kfac;
using Curvature.Models;
using Curvature.Serialization;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// The curvature of one layer inside an optimizer. Its running statistics live in a slice of the optimizer's contiguous
/// statistics buffer (so they can be all-reduced in one call); everything else (staged batch statistics, inverses or
/// eigenbases, scratch) it owns. The optimizer drives it through a step in phases that cannot fail after validation, so a
/// rejected step leaves it unchanged:
/// <list type="number">
/// <item><see cref="ValidateObservation"/> and <see cref="StageObservation"/>: validate an observation and stage its batch statistics (the running statistics stay).</item>
/// <item><see cref="Blend"/>: write <c>keep·current + add·batch</c> into the next statistics buffer.</item>
/// <item><see cref="Refresh"/> (synchronous) or <see cref="StartBackgroundRefresh"/>: recompute the representation; a
/// synchronous refresh can be undone with <see cref="RevertRefresh"/> until the step commits.</item>
/// <item><see cref="Precondition"/> and <see cref="Multiply"/> on flat parameter vectors (each block reads and writes only
/// its own parameters' entries).</item>
/// </list>
/// </summary>
internal abstract class CurvatureBlock<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    protected CurvatureBlock(LayerSpec layer, int layerIndex, int weightOffset, int biasOffset)
    {
        Layer = layer;
        LayerIndex = layerIndex;
        WeightOffset = weightOffset;
        BiasOffset = biasOffset;
    }

    /// <summary>The layer.</summary>
    public LayerSpec Layer { get; }

    /// <summary>Its index in the model.</summary>
    public int LayerIndex { get; }

    /// <summary>Offset of the weight in the flat parameter vector.</summary>
    public int WeightOffset { get; }

    /// <summary>Offset of the bias in the flat parameter vector (−1 without bias).</summary>
    public int BiasOffset { get; }

    /// <summary>Elements of the running statistics.</summary>
    public abstract int StatisticsLength { get; }

    /// <summary>Offset of the running statistics in the optimizer's statistics buffer (set once by the optimizer).</summary>
    public int StatisticsOffset { get; set; }

    /// <summary>True when the statistics come from layer observations; false when they come from the parameter gradient.</summary>
    public virtual bool UsesObservations => true;

    /// <summary>True when an observation is staged for the next statistics update.</summary>
    public bool HasStagedObservation { get; protected set; }

    /// <summary>Examples in the staged observation.</summary>
    public int StagedBatchSize { get; protected set; }

    /// <summary>Committed statistics updates (0: no statistics yet).</summary>
    public long UpdateCount { get; set; }

    /// <summary>The moving-average weight <c>w</c> of the bias-corrected average (committed).</summary>
    public double AverageWeight { get; set; }

    /// <summary>True when the block needs an inverse or eigenbasis before it can precondition.</summary>
    public virtual bool NeedsRefresh => false;

    /// <summary>True when a representation (inverse, eigenbasis) exists to precondition with.</summary>
    public virtual bool HasRepresentation => true;

    /// <summary>Statistics updates since the representation was computed from the statistics (committed).</summary>
    public long UpdatesSinceRefresh { get; set; }

    /// <summary>True while a background refresh is in flight or finished but not yet swapped in.</summary>
    public virtual bool IsRefreshPending => false;

    /// <summary>Bytes held, by purpose (statistics counted for the double buffer by the optimizer, not here).</summary>
    public abstract OptimizerMemory Memory { get; }

    /// <summary>Validates an observation without changing anything (shapes, finiteness, overflow of the statistics);
    /// throws <see cref="ArgumentException"/>.</summary>
    public abstract KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings);

    /// <summary>Stages the batch statistics of an observation that <see cref="ValidateObservation"/> accepted (cannot fail).
    /// A second observation before the step replaces the first.</summary>
    public abstract void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings);

    /// <summary>Drops the staged observation (after the step used it).</summary>
    public void ClearStagedObservation() => HasStagedObservation = false;

    /// <summary>
    /// <c>next = keep·current + add·batch</c> over this block's statistics, where <c>batch</c> is the staged observation
    /// (or, for blocks that do not use observations, the statistics of <paramref name="gradient"/>, the flat gradient).
    /// </summary>
    public abstract void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize);

    /// <summary>Recomputes the representation from <paramref name="statistics"/> (this block's slice) with damping
    /// <paramref name="damping"/>; on failure throws with the previous representation in place.</summary>
    /// <remarks>It may rewrite statistics that depend on the representation (EKFAC's scalings restart in a new basis);
    /// <paramref name="statistics"/> is then the step's next buffer, discarded if the step fails.</remarks>
    public virtual void Refresh(CurvatureBackend backend, Span<T> statistics, double damping)
    {
    }

    /// <summary>Undoes the last successful <see cref="Refresh"/> of the current step.</summary>
    public virtual void RevertRefresh()
    {
    }

    /// <summary>Starts a background refresh from a snapshot of <paramref name="statistics"/> (nothing when one is in flight).</summary>
    public virtual void StartBackgroundRefresh(ReadOnlySpan<T> statistics, double damping)
    {
    }

    /// <summary>Swaps in a finished background refresh, adjusting statistics that depend on the representation in
    /// <paramref name="committedStatistics"/>; returns true when one was swapped in. A failed background refresh is rethrown
    /// here (once), with the previous representation kept.</summary>
    public virtual bool CollectBackgroundRefresh(Span<T> committedStatistics) => false;

    /// <summary>Swaps in a finished, successful background refresh as <see cref="CollectBackgroundRefresh"/> does, but
    /// keeps a failure for the next <see cref="CollectBackgroundRefresh"/> to report; returns true when one was swapped in.</summary>
    public virtual bool SwapInFinishedRefresh(Span<T> committedStatistics) => false;

    /// <summary>Waits for a background refresh in flight.</summary>
    public virtual void WaitForBackgroundRefresh()
    {
    }

    /// <summary>Discards a background refresh in flight (its result and error).</summary>
    public virtual void DiscardBackgroundRefresh()
    {
    }

    /// <summary>Called when a step that used this block committed; <paramref name="refreshed"/> tells whether
    /// <see cref="Refresh"/> ran synchronously in it.</summary>
    public virtual void OnCommitted(bool refreshed)
    {
    }

    /// <summary>Writes <c>(C + λ)⁻¹ g</c> restricted to this block's parameters into <paramref name="direction"/>.</summary>
    public abstract void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction);

    /// <summary>Writes the undamped <c>C v</c> restricted to this block's parameters into <paramref name="result"/>.</summary>
    public abstract void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result);

    /// <summary>Writes the block's representation (not the statistics, which the optimizer writes) to a checkpoint.</summary>
    public virtual void WriteRepresentation(CheckpointWriter writer, string prefix)
    {
    }

    /// <summary>Reads what <see cref="WriteRepresentation"/> wrote, validated, without applying it.</summary>
    public virtual object? ReadRepresentation(CheckpointReader reader, string prefix) => null;

    /// <summary>Applies what <see cref="ReadRepresentation"/> returned (nothing can fail).</summary>
    public virtual void RestoreRepresentation(object? state)
    {
    }

    /// <summary>Forgets the representation (after a reset).</summary>
    public virtual void ClearRepresentation()
    {
    }

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }

    /// <summary>The elements of <paramref name="values"/> whose slice starts at <paramref name="offset"/>.</summary>
    protected static Span<T> Slice(Span<T> values, int offset, int length) => values.Slice(offset, length);
}
