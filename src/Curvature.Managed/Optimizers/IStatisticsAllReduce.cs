using System.Numerics;

namespace Curvature.Optimizers;

/// <summary>
/// Averages an optimizer's curvature statistics across processes (data-parallel training): the optimizer calls it with all
/// of its running statistics in one contiguous buffer before it reads them (before each refresh, and on every step for
/// statistics that steps read directly), and continues with what the call leaves in the buffer.
/// </summary>
/// <remarks>The buffer's layout is the same on every process that built the optimizer from the same model and options, so an
/// element-wise mean (e.g. MPI <c>Allreduce</c> with sum, then division by the process count) is all an implementation does.
/// Every process must call <see cref="CurvatureOptimizer{T}.Step(double, Func{double}?, CancellationToken)"/> the same number of times.</remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IStatisticsAllReduce<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Replaces every element of <paramref name="statistics"/> by its mean over the processes.</summary>
    void AllReduceMean(Span<T> statistics);
}
