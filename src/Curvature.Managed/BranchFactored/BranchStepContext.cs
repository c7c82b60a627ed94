using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Parameters;

namespace Curvature.BranchFactored;

/// <summary>
/// The per-step input of a <see cref="BranchFactoredPreconditioner{T}"/> : the branch
/// samples (a <c>K × D</c> matrix of state samples) and the named gradients. Reuse one instance across steps to stay allocation-free.
/// </summary>
/// <typeparam name="T">The element type of the branch samples.</typeparam>
public sealed class BranchStepContext<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private ReadOnlyMemory2D<T> _branches;

    /// <summary>An empty context (no branches, no gradients).</summary>
    public BranchStepContext()
    {
    }

    /// <summary>A context with branch samples and, optionally, named gradients.</summary>
    public BranchStepContext(ReadOnlyMemory2D<T> branches, ParameterSet? gradients = null)
    {
        SetBranches(branches);
        Gradients = gradients;
    }

    /// <summary>Named gradients, used when the preconditioner has no <see cref="BranchGradientEstimator{T}"/>. Each parameter
    /// needs an entry with the same number of elements (its shape may differ); extra names are ignored.</summary>
    public ParameterSet? Gradients { get; set; }

    /// <summary>The number of dimensions of the branch samples given: 2 for a matrix, −1 when none were given.
    /// Any other rank makes the step fall back to the plain gradient.</summary>
    public int BranchRank { get; private set; } = -1;

    /// <summary>The branch samples as a <c>K × D</c> matrix, when <see cref="BranchRank"/> is 2 (otherwise empty).</summary>
    public ReadOnlyMemory2D<T> Branches => _branches;

    /// <summary>Whether a 2-D branch matrix is present (the step then uses the branch covariance).</summary>
    public bool HasBranchMatrix => BranchRank == 2;

    /// <summary>Sets a <c>K × D</c> matrix of branch samples.</summary>
    public void SetBranches(ReadOnlyMemory2D<T> branches)
    {
        _branches = branches;
        BranchRank = 2;
    }

    /// <summary>Sets branch samples as a tensor of any rank; only a rank-2 shape <c>[K, D]</c> is used, other ranks make the step fall back to the plain gradient.</summary>
    /// <exception cref="ArgumentException">The data length does not match the shape, or a dimension is negative.</exception>
    public void SetBranches(ReadOnlyMemory<T> data, params ReadOnlySpan<int> shape)
    {
        long length = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException("Dimensions must be non-negative.", nameof(shape));
            }

            length *= d;
        }

        if (length != data.Length)
        {
            throw new ArgumentException($"The shape holds {length} elements, but the data has {data.Length}.", nameof(data));
        }

        _branches = shape.Length == 2 ? data.AsMemory2D(shape[0], shape[1]) : default;
        BranchRank = shape.Length;
    }

    /// <summary>Removes the branch samples (the next step falls back to the plain gradient).</summary>
    public void ClearBranches()
    {
        _branches = default;
        BranchRank = -1;
    }
}
