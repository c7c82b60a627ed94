// Uses the Curvature packages the way a package user does and prints every number it computes (round-trip format, one
// "name: values" line each) so the test can check them against its own float64 computation.
using System.Diagnostics.Metrics;
using Curvature.Models;
using System.Globalization;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Diagnostics;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Native;
using Curvature.Solvers;

const int N = 8, DIn = 5, DOut = 4;
const double Damping = 0.05, Shift = 0.1;

CurvatureBackend backend = BackendSelector.FromEnvironment();   // CURVATURE_BACKEND=managed|openblas|mkl

// The library's metrics reach a listener in the consuming process.
long refreshes = 0;
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Meter.Name == CurvatureMetrics.MeterName && instrument.Name == CurvatureMetrics.InverseRefreshDuration)
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref refreshes));
listener.Start();

// A linear layer 5 → 4 with bias, one batch of 8 examples, empirical Fisher of a summed loss (one vector per example).
double[] input = [.. Enumerable.Range(0, N * DIn).Select(i => Math.Sin((1.3 * i) + 0.2))];
double[] gradients = [.. Enumerable.Range(0, N * DOut).Select(i => Math.Cos((0.7 * i) + 0.1) / 3)];
var model = new ModelSpec([LayerSpec.Linear("fc", DIn, DOut)]);
var options = new KfacOptions { NumData = N, Reduction = LossReduction.Sum, Fisher = FisherType.Empirical };
var builder = new KfacFactorBuilder<double>(backend, model, options);
builder.AccumulateLayer("fc", input, [N, DIn], gradients, [1, N, DOut]);
KfacOperator<double> fisher = builder.ToOperator();
int d = fisher.Dimension;

double[] v = [.. Enumerable.Range(0, d).Select(i => Math.Sin((0.9 * i) + 0.5))];
var fv = new double[d];
fisher.Apply(v, fv);

var inverse = fisher.Inverse(KfacInverseOptions.Plain(Damping));
var inverseV = new double[d];
inverse.Apply(v, inverseV);

// (K + Shift·I) x = v by conjugate gradient, preconditioned by the damped K-FAC inverse.
var shifted = new LinearMapOperator<double>(d, (source, destination) =>
{
    fisher.Apply(source, destination);
    for (int i = 0; i < d; i++)
    {
        destination[i] += Shift * source[i];
    }
});
var x = new double[d];
var result = ConjugateGradient.Solve(shifted, v, x, new ConjugateGradientWorkspace<double>(d),
    new ConjugateGradientOptions { RelativeTolerance = 1e-13 }, inverse);

// The same operator in float32.
var builder32 = new KfacFactorBuilder<float>(backend, model, options);
builder32.AccumulateLayer("fc", [.. input.Select(a => (float)a)], [N, DIn], [.. gradients.Select(g => (float)g)], [1, N, DOut]);
var fv32 = new float[d];
builder32.ToOperator().Apply([.. v.Select(a => (float)a)], fv32);

Print("backend", backend.Kind.ToString().ToLowerInvariant());
Print("shape", $"{N} {DIn} {DOut}");
Print("damping", Damping.ToString("R", CultureInfo.InvariantCulture));
Print("shift", Shift.ToString("R", CultureInfo.InvariantCulture));
Print("input", input);
Print("gradients", gradients);
Print("v", v);
Print("fisher_v", fv);
Print("inverse_v", inverseV);
Print("cg_x", x);
Print("cg", $"{result.Termination} {result.Iterations}");
Print("trace", new[] { fisher.Trace() });
Print("fisher_v_float32", fv32.Select(f => (double)f).ToArray());
Print("inverse_refreshes", refreshes.ToString(CultureInfo.InvariantCulture));
return 0;

static void Print(string name, object value) => Console.WriteLine(value is double[] values
    ? $"{name}: {string.Join(' ', values.Select(a => a.ToString("R", CultureInfo.InvariantCulture)))}"
    : $"{name}: {value}");
