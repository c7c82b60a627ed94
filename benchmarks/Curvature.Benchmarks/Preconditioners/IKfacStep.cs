namespace Curvature.Benchmarks.Preconditioners;

/// <summary>
/// One K-FAC step of a dense layer (in = out = n, batch 256), the composite workload of issue #2 item 8 and
/// PERFORMANCE.md: two SYRK factor updates with the exponential moving average folded into SYRK's α/β,
/// trace-scaled Tikhonov damping, two Cholesky inverses and the natural gradient <c>G⁻¹ ∇W A⁻¹</c> (two GEMMs).
/// </summary>
/// <remarks>
/// <see cref="KfacStepBenchmarks{T}"/> measures whatever implementation <see cref="KfacStepFactory"/> returns. Today
/// that is <see cref="ContractKfacStep{T}"/>, written directly against the <c>CurvatureBackend</c> contract; once the
/// library's <c>KfacPreconditioner&lt;T&gt;</c> is merged, add an implementation that drives it (Update with the
/// layer's activations and output gradients, then Apply to ∇W) and return it from the factory. The benchmark IDs and
/// parameters stay the same, so results remain comparable across that switch.
/// </remarks>
public interface IKfacStep
{
    /// <summary>The mini-batch size of the layer.</summary>
    const int BatchSize = 256;

    /// <summary>The EMA decay of the Kronecker factors.</summary>
    const double EmaDecay = 0.95;

    /// <summary>The Tikhonov damping λ, split between the factors by the trace heuristic.</summary>
    const double Damping = 1e-3;

    /// <summary>Updates both factors from the stored batch and preconditions the stored gradient.</summary>
    void Step();
}
