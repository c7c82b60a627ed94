using System.Numerics;
using Curvature.Operators;
using Curvature.Solvers.Internals;

namespace Curvature.Solvers;

/// <summary>
/// The (preconditioned) conjugate-gradient method for <c>A x = b</c> with A symmetric positive definite, given as an
/// <see cref="ILinearOperator{T}"/> or a <see cref="LinearMap{T}"/>; optionally preconditioned by an operator M that applies an
/// approximate inverse of A (for example a damped K-FAC inverse <c>(G + δI)⁻¹ ⊗ (A + δI)⁻¹</c>).
/// </summary>
/// <remarks>
/// Hestenes &amp; Stiefel (1952); the preconditioned form is Algorithm 9.1 of Saad, <i>Iterative Methods for Sparse Linear
/// Systems</i> (2003). A non-positive or non-finite curvature <c>pᵀAp</c> (or <c>rᵀMr</c>) is not clamped: the solver stops
/// and reports <see cref="ConjugateGradientTermination.Breakdown"/>. Allocation-free: all scratch lives in the
/// <see cref="ConjugateGradientWorkspace{T}"/>, one per concurrent solve; the operators are called from the solving thread.
/// Long solves can be cancelled between iterations.
/// </remarks>
public static class ConjugateGradient
{
    /// <summary>Solves <c>A x = b</c> for an operator A.</summary>
    /// <param name="matrix">The symmetric positive-definite operator A.</param>
    /// <param name="rightHandSide">b (finite).</param>
    /// <param name="solution">x: on exit the solution; on entry the starting guess when <see cref="ConjugateGradientOptions.UseInitialGuess"/>.
    /// It may be the right-hand side's own memory (the system is then solved in place).</param>
    /// <param name="workspace">Scratch of the same dimension.</param>
    /// <param name="options">Stopping rules (<see cref="ConjugateGradientOptions.Default"/> when null).</param>
    /// <param name="preconditioner">Optional M ≈ A⁻¹ (symmetric positive definite).</param>
    /// <param name="cancellationToken">Checked before every application of A. On cancellation <paramref name="solution"/>
    /// holds the last iterate; the solver keeps no other state.</param>
    /// <returns>Whether it converged, the iterations used and the final residual norm.</returns>
    /// <exception cref="ArgumentException">Mismatched dimensions, or a NaN/infinite right-hand side or starting guess.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static ConjugateGradientResult Solve<T>(
        ILinearOperator<T> matrix,
        ReadOnlySpan<T> rightHandSide,
        Span<T> solution,
        ConjugateGradientWorkspace<T> workspace,
        ConjugateGradientOptions? options = null,
        ILinearOperator<T>? preconditioner = null,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Dimension != rightHandSide.Length)
        {
            throw new ArgumentException($"The operator has dimension {matrix.Dimension}, but the right-hand side has {rightHandSide.Length} elements.", nameof(rightHandSide));
        }

        if (preconditioner is not null && preconditioner.Dimension != rightHandSide.Length)
        {
            throw new ArgumentException($"The preconditioner has dimension {preconditioner.Dimension}, but the system has {rightHandSide.Length}.", nameof(preconditioner));
        }

        return SolveCore(matrix, null, rightHandSide, solution, workspace, options, preconditioner, null, cancellationToken);
    }

    /// <summary>Solves <c>A x = b</c> for A given as a delegate (dimension = length of b).</summary>
    /// <inheritdoc cref="Solve{T}(ILinearOperator{T}, ReadOnlySpan{T}, Span{T}, ConjugateGradientWorkspace{T}, ConjugateGradientOptions?, ILinearOperator{T}?, CancellationToken)"/>
    public static ConjugateGradientResult Solve<T>(
        LinearMap<T> matrix,
        ReadOnlySpan<T> rightHandSide,
        Span<T> solution,
        ConjugateGradientWorkspace<T> workspace,
        ConjugateGradientOptions? options = null,
        LinearMap<T>? preconditioner = null,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return SolveCore(null, matrix, rightHandSide, solution, workspace, options, null, preconditioner, cancellationToken);
    }

    /// <summary>Solves <c>A x = b</c> with a delegate A and an operator preconditioner.</summary>
    /// <inheritdoc cref="Solve{T}(ILinearOperator{T}, ReadOnlySpan{T}, Span{T}, ConjugateGradientWorkspace{T}, ConjugateGradientOptions?, ILinearOperator{T}?, CancellationToken)"/>
    public static ConjugateGradientResult Solve<T>(
        LinearMap<T> matrix,
        ReadOnlySpan<T> rightHandSide,
        Span<T> solution,
        ConjugateGradientWorkspace<T> workspace,
        ConjugateGradientOptions? options,
        ILinearOperator<T>? preconditioner,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (preconditioner is not null && preconditioner.Dimension != rightHandSide.Length)
        {
            throw new ArgumentException($"The preconditioner has dimension {preconditioner.Dimension}, but the system has {rightHandSide.Length}.", nameof(preconditioner));
        }

        return SolveCore(null, matrix, rightHandSide, solution, workspace, options, preconditioner, null, cancellationToken);
    }

    private static ConjugateGradientResult SolveCore<T>(
        ILinearOperator<T>? op,
        LinearMap<T>? map,
        ReadOnlySpan<T> b,
        Span<T> x,
        ConjugateGradientWorkspace<T> workspace,
        ConjugateGradientOptions? options,
        ILinearOperator<T>? precOp,
        LinearMap<T>? precMap,
        CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(workspace);
        using var busy = workspace.Guard.Enter(workspace);
        options ??= ConjugateGradientOptions.Default;
        options.Validate();
        int n = b.Length;
        if (x.Length != n)
        {
            throw new ArgumentException($"The solution has {x.Length} elements, but the right-hand side has {n}.", nameof(x));
        }

        if (workspace.Dimension != n)
        {
            throw new ArgumentException($"The workspace serves dimension {workspace.Dimension}, but the system has {n}.", nameof(workspace));
        }

        if (!VectorOps.AllFinite(b))
        {
            throw new ArgumentException("The right-hand side contains NaN or infinity.", nameof(b));
        }

        if (options.UseInitialGuess && !VectorOps.AllFinite<T>(x))
        {
            throw new ArgumentException("The starting guess contains NaN or infinity.", nameof(x));
        }

        int maxIterations = options.MaxIterations ?? (int)Math.Min(int.MaxValue, 10L * n);
        Span<T> r = workspace.Residual, z = workspace.Preconditioned, p = workspace.Direction, q = workspace.Product;
        bool preconditioned = precOp is not null || precMap is not null;

        double bNorm = Math.Sqrt(VectorOps.Dot(b, b));
        double threshold = Math.Max(options.RelativeTolerance * bNorm, options.AbsoluteTolerance);

        // r = b − A x₀. b is read here and never again, so x may share b's memory (an in-place solve): b is copied
        // into the residual before x is first written.
        cancellationToken.ThrowIfCancellationRequested();
        if (options.UseInitialGuess)
        {
            Apply(op, map, x, q);
            for (int i = 0; i < n; i++)
            {
                r[i] = b[i] - q[i];
            }
        }
        else
        {
            b.CopyTo(r);
            x.Clear();
        }

        double rr = VectorOps.Dot<T>(r, r);
        double rNorm = Math.Sqrt(rr);
        if (!double.IsFinite(rNorm))
        {
            return new ConjugateGradientResult(ConjugateGradientTermination.Breakdown, 0, rNorm, bNorm);
        }

        if (rNorm <= threshold)
        {
            return new ConjugateGradientResult(ConjugateGradientTermination.Converged, 0, rNorm, bNorm);
        }

        Span<T> zv = preconditioned ? z : r;
        if (preconditioned)
        {
            Apply(precOp, precMap, r, z);
        }

        double rz = preconditioned ? VectorOps.Dot<T>(r, z) : rr;
        if (!(rz > 0) || !double.IsFinite(rz))
        {
            return new ConjugateGradientResult(ConjugateGradientTermination.Breakdown, 0, rNorm, bNorm);
        }

        zv.CopyTo(p);
        for (int k = 1; k <= maxIterations; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Apply(op, map, p, q);
            double pq = VectorOps.Dot<T>(p, q);
            if (!(pq > 0) || !double.IsFinite(pq))
            {
                return new ConjugateGradientResult(ConjugateGradientTermination.Breakdown, k, rNorm, bNorm);
            }

            T alpha = T.CreateTruncating(rz / pq);
            VectorOps.Axpy<T>(alpha, p, x);
            VectorOps.Axpy<T>(-alpha, q, r);
            rr = VectorOps.Dot<T>(r, r);
            rNorm = Math.Sqrt(rr);
            if (!double.IsFinite(rNorm))
            {
                return new ConjugateGradientResult(ConjugateGradientTermination.Breakdown, k, rNorm, bNorm);
            }

            if (rNorm <= threshold)
            {
                return new ConjugateGradientResult(ConjugateGradientTermination.Converged, k, rNorm, bNorm);
            }

            if (k == maxIterations)
            {
                break;
            }

            if (preconditioned)
            {
                Apply(precOp, precMap, r, z);
            }

            double rzNew = preconditioned ? VectorOps.Dot<T>(r, z) : rr;
            if (!(rzNew > 0) || !double.IsFinite(rzNew))
            {
                return new ConjugateGradientResult(ConjugateGradientTermination.Breakdown, k, rNorm, bNorm);
            }

            T beta = T.CreateTruncating(rzNew / rz);
            VectorOps.Xpby<T>(zv, beta, p);
            rz = rzNew;
        }

        return new ConjugateGradientResult(ConjugateGradientTermination.IterationLimit, maxIterations, rNorm, bNorm);
    }

    private static void Apply<T>(ILinearOperator<T>? op, LinearMap<T>? map, ReadOnlySpan<T> source, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (op is not null)
        {
            op.Apply(source, destination);
        }
        else
        {
            map!(source, destination);
        }
    }
}
