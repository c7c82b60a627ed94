using System.Numerics;
using Curvature.Backends;
using Curvature.Benchmarks.Preconditioners;
using Curvature.Internals;
using Curvature.Native.Interop;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>
/// The K-FAC step of a dense layer (in = out = n, batch 256): A is the benchmark's contract-level step
/// (<see cref="ContractKfacStep{T}"/>, Curvature's public kernel calls), B the same step written with bare calls on the
/// same buffers: two ?syrk, the trace heuristic, ?potrf + ?potri + the same mirror to full matrices on both damped
/// factors, two ?gemm. Both start every run from the same factors (restored untimed).
/// </summary>
internal sealed unsafe class KfacStepCase<T> : InterleavedCase
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ContractKfacStep<T> _step;
    private readonly BlasLapackExports _bare;
    private readonly AlignedBuffer<T> _initialA, _initialG, _saved;

    public KfacStepCase(CurvatureBackend backend, BlasLapackExports bare, string baseline, int n)
        : base("kfacstep", typeof(T) == typeof(double) ? "double" : "float", n, backend.Name, baseline)
    {
        _step = new ContractKfacStep<T>(backend, n);
        _bare = bare;
        _initialA = _step.FactorA.Clone();
        _initialG = _step.FactorG.Clone();
        _saved = new AlignedBuffer<T>(n * n);
    }

    public override void Prepare()
    {
        _initialA.CopyTo(_step.FactorA);
        _initialG.CopyTo(_step.FactorG);
    }

    public override void RunA() => _step.Step();

    public override void RunB()
    {
        var s = _step;
        int n = N, batch = IKfacStep.BatchSize;
        T alpha = T.CreateChecked((1 - IKfacStep.EmaDecay) / batch);
        T beta = T.CreateChecked(IKfacStep.EmaDecay);
        BareRoutines.Syrk(_bare, true, n, batch, alpha, s.Activations.DangerousGetPointer(), beta, s.FactorA.DangerousGetPointer());
        BareRoutines.Syrk(_bare, true, n, batch, alpha, s.OutputGradients.DangerousGetPointer(), beta, s.FactorG.DangerousGetPointer());
        var (shiftA, shiftG) = ContractKfacStep<T>.Shifts(s.FactorA, s.FactorG, n);
        Invert(s.FactorA, s.InverseA, shiftA);
        Invert(s.FactorG, s.InverseG, shiftG);
        BareRoutines.Gemm(_bare, n, s.InverseG.DangerousGetPointer(), s.WeightGradient.DangerousGetPointer(), s.Temporary.DangerousGetPointer());
        BareRoutines.Gemm(_bare, n, s.Temporary.DangerousGetPointer(), s.InverseA.DangerousGetPointer(), s.NaturalGradient.DangerousGetPointer());
    }

    public override void SaveA() => _step.NaturalGradient.CopyTo(_saved);

    public override string Compare() => Verdict(RelativeDifference<T>(_saved, _step.NaturalGradient, out bool same), same);

    private void Invert(AlignedBuffer<T> factor, AlignedBuffer<T> inverse, double shift)
    {
        int n = N;
        ContractKfacStep<T>.CopyDamped(factor, inverse, n, shift);
        if (BareRoutines.CholeskyInverse(_bare, true, n, inverse.DangerousGetPointer()) != 0)
        {
            throw new InvalidOperationException("bare ?potrf/?potri failed.");
        }

        SymmetricStorage.Mirror(new MatrixRef<T>(ref inverse.GetReference(), n, n, n), fromLower: true);
    }
}
