using Curvature.Benchmarks.Preconditioners;

namespace Curvature.Benchmarks.Infrastructure;

/// <summary>
/// Checks, before anything is timed, that the K-FAC step the benchmark measures computes what it claims: one step on
/// every available backend against a dense float64 oracle written here (EMA factors, trace-scaled damping,
/// Gauss-Jordan inverses, <c>G⁻¹∇W A⁻¹</c>).
/// </summary>
internal static class KfacStepVerifier
{
    /// <summary>Runs the check for n ∈ {7, 33} in float and double; returns whether all passed.</summary>
    public static bool Run(TextWriter log)
    {
        bool ok = true;
        foreach (string name in BenchmarkBackends.Available)
        {
            foreach (int n in new[] { 7, 33 })
            {
                ok &= Check(log, name, n, isDouble: true);
                ok &= Check(log, name, n, isDouble: false);
            }
        }

        foreach (int n in new[] { 7, 33 })
        {
            ok &= CheckMathNet(log, n);
        }

        return ok;
    }

    private static bool Check(TextWriter log, string backendName, int n, bool isDouble)
    {
        var backend = BenchmarkBackends.Create(backendName, 1);
        double error;
        double tolerance;
        if (isDouble)
        {
            var step = new ContractKfacStep<double>(backend, n);
            var expected = Oracle(step.Activations.ToArray(), step.OutputGradients.ToArray(), step.WeightGradient.ToArray(), n);
            step.Step();
            error = RelativeError(step.NaturalGradient.ToArray(), expected);
            tolerance = 1e-10;
        }
        else
        {
            var step = new ContractKfacStep<float>(backend, n);
            var expected = Oracle(Widen(step.Activations.ToArray()), Widen(step.OutputGradients.ToArray()), Widen(step.WeightGradient.ToArray()), n);
            step.Step();
            error = RelativeError(Widen(step.NaturalGradient.ToArray()), expected);
            tolerance = 1e-3;
        }

        bool pass = error <= tolerance;
        log.WriteLine($"verify kfacstep backend={backendName} n={n} dtype={(isDouble ? "double" : "float")}: relative error {error:E2} (tolerance {tolerance:E0}) {(pass ? "OK" : "FAILED")}");
        return pass;
    }

    private static bool CheckMathNet(TextWriter log, int n)
    {
        // The peer is checked too: a wrong peer would make every ratio against it meaningless.
        var work = new Peers.MathNetWorkload<double>(n, 1);
        work.KfacStep();
        int batch = IKfacStep.BatchSize;
        var x = SeededData.Uniform<double>(batch * n, SeededData.SeedFor(n, 10));
        var gout = SeededData.Uniform<double>(batch * n, SeededData.SeedFor(n, 11));
        var grad = SeededData.Uniform<double>(n * n, SeededData.SeedFor(n, 12));
        var gradTransposed = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                gradTransposed[(i * n) + j] = grad[(j * n) + i];
            }
        }

        double error = RelativeError(work.NaturalGradientRowMajor(), Oracle(x, gout, gradTransposed, n));
        bool pass = error <= 1e-10;
        log.WriteLine($"verify kfacstep peer=mathnet n={n} dtype=double: relative error {error:E2} (tolerance 1E-10) {(pass ? "OK" : "FAILED")}");
        return pass;
    }

    /// <summary>The first step from factors initialised to XᵀX/batch, in float64 with full matrices.</summary>
    private static double[] Oracle(double[] x, double[] gout, double[] grad, int n)
    {
        int batch = IKfacStep.BatchSize;
        var xtx = AtA(x, batch, n);
        var gtg = AtA(gout, batch, n);
        var a = new double[n * n];
        var g = new double[n * n];
        double w = IKfacStep.EmaDecay / batch + (1 - IKfacStep.EmaDecay) / batch;
        for (int i = 0; i < n * n; i++)
        {
            a[i] = w * xtx[i];
            g[i] = w * gtg[i];
        }

        double trA = 0, trG = 0;
        for (int i = 0; i < n; i++)
        {
            trA += a[(i * n) + i];
            trG += g[(i * n) + i];
        }

        double pi = Math.Sqrt(trA / trG), root = Math.Sqrt(IKfacStep.Damping);
        for (int i = 0; i < n; i++)
        {
            a[(i * n) + i] += pi * root;
            g[(i * n) + i] += root / pi;
        }

        return Multiply(Multiply(Invert(g, n), grad, n), Invert(a, n), n);
    }

    private static double[] AtA(double[] m, int rows, int n)
    {
        var r = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < rows; k++)
                {
                    s += m[(k * n) + i] * m[(k * n) + j];
                }

                r[(i * n) + j] = s;
            }
        }

        return r;
    }

    private static double[] Multiply(double[] a, double[] b, int n)
    {
        var r = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++)
                {
                    s += a[(i * n) + k] * b[(k * n) + j];
                }

                r[(i * n) + j] = s;
            }
        }

        return r;
    }

    /// <summary>Gauss-Jordan inverse with partial pivoting.</summary>
    private static double[] Invert(double[] m, int n)
    {
        var a = (double[])m.Clone();
        var inv = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            inv[(i * n) + i] = 1;
        }

        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
            {
                if (Math.Abs(a[(r * n) + col]) > Math.Abs(a[(pivot * n) + col]))
                {
                    pivot = r;
                }
            }

            for (int j = 0; j < n; j++)
            {
                (a[(col * n) + j], a[(pivot * n) + j]) = (a[(pivot * n) + j], a[(col * n) + j]);
                (inv[(col * n) + j], inv[(pivot * n) + j]) = (inv[(pivot * n) + j], inv[(col * n) + j]);
            }

            double d = a[(col * n) + col];
            for (int j = 0; j < n; j++)
            {
                a[(col * n) + j] /= d;
                inv[(col * n) + j] /= d;
            }

            for (int r = 0; r < n; r++)
            {
                double f = a[(r * n) + col];
                if (r == col || f == 0)
                {
                    continue;
                }

                for (int j = 0; j < n; j++)
                {
                    a[(r * n) + j] -= f * a[(col * n) + j];
                    inv[(r * n) + j] -= f * inv[(col * n) + j];
                }
            }
        }

        return inv;
    }

    private static double RelativeError(double[] actual, double[] expected)
    {
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            den += expected[i] * expected[i];
        }

        return Math.Sqrt(num / den);
    }

    private static double[] Widen(float[] v) => Array.ConvertAll(v, x => (double)x);
}
