using System.Numerics;
using CommunityToolkit.HighPerformance;

namespace Curvature.Loss;

/// <summary>
/// The vectors to backpropagate from the model output so that the Kronecker factors of K-FAC / EKFAC represent the
/// requested Fisher (curvlinops' conventions). Curvature has no autograd: the caller's framework
/// backpropagates each vector <c>v</c> (for all rows together) and hands the layer-output gradients to the factor builder.
/// </summary>
/// <remarks>
/// <para>The output is arranged as <c>R</c> rows of <c>C</c> entries (one row per loss term: <c>R = N_b·P</c>; for
/// cross-entropy with outputs <c>[N, C, S…]</c> move the class axis last first). The destination holds
/// <c>[V, R, C]</c> row-major. With <c>s = 1/R</c> (mean) or 1 (sum), <c>c = 1</c> (CE, or sum) or <c>1/C</c>
/// (MSE/BCE with mean), <c>p = softmax(f)</c>, <c>σ = sigmoid(f)</c>:</para>
/// <list type="bullet">
/// <item>type-2 (V = C), column v of a square root of the loss Hessian: MSE <c>s√(2c)e_v</c>, CE
/// <c>s√c√p_v(e_v − p)</c>, BCE <c>s√c√(σ_v(1 − σ_v))e_v</c>;</item>
/// <item>empirical (V = 1): MSE <c>s·k·(f − y)</c> with <c>k = 2/√C</c> (mean) or 2 (sum), CE <c>s(p − onehot(y))</c>,
/// BCE <c>s·k·(σ − y)</c> with <c>k = 1/√C</c> (mean) or 1 (sum);</item>
/// <item>Monte-Carlo (V = mcSamples): MSE <c>s·√(2c)·ε/√M</c>, ε ~ N(0, I); CE <c>s√c(p − onehot(ŷ))/√M</c>, ŷ ~ Cat(p);
/// BCE <c>s√c(σ − ŷ)/√M</c>, ŷ ~ Bernoulli(σ). Draws come from the given <see cref="Random"/> (seed it for
/// reproducibility); they are not PyTorch's random streams.</item>
/// <item>forward-only (V = 0): nothing is backpropagated; the builder uses <c>G = I</c>.</item>
/// </list>
/// <para>Computations are carried out in double precision and rounded to the element type at the end.</para>
/// </remarks>
public static class BackpropagatedVectors
{
    /// <summary>The number V of vectors per row for a Fisher type.</summary>
    /// <param name="fisher">The Fisher type.</param>
    /// <param name="outputSize">C, the entries per output row.</param>
    /// <param name="mcSamples">Monte-Carlo samples (must be 1 unless <paramref name="fisher"/> is Monte-Carlo).</param>
    public static int Count(FisherType fisher, int outputSize, int mcSamples = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        ValidateSamples(fisher, mcSamples);
        return fisher switch
        {
            FisherType.Type2 => outputSize,
            FisherType.MonteCarlo => mcSamples,
            FisherType.Empirical => 1,
            FisherType.ForwardOnly => 0,
            _ => throw new ArgumentOutOfRangeException(nameof(fisher), fisher, "Unknown Fisher type."),
        };
    }

    /// <summary>Vectors for mean-squared error or BCE-with-logits (targets of the output's shape).</summary>
    /// <param name="loss"><see cref="LossFunction.MeanSquaredError"/> or <see cref="LossFunction.BinaryCrossEntropyWithLogits"/>.</param>
    /// <param name="reduction">The loss reduction.</param>
    /// <param name="fisher">The Fisher type.</param>
    /// <param name="output">Model output, R × C.</param>
    /// <param name="targets">Targets, R × C (only read for the empirical Fisher).</param>
    /// <param name="destination">The vectors, <c>V·R·C</c> values laid out <c>[V, R, C]</c>.</param>
    /// <param name="mcSamples">Monte-Carlo samples (1 for other Fisher types).</param>
    /// <param name="random">Random source for Monte-Carlo draws (required for <see cref="FisherType.MonteCarlo"/>).</param>
    /// <exception cref="ArgumentException">Shapes do not match, a value is not finite, or the loss is cross-entropy.</exception>
    public static void Compute<T>(LossFunction loss, LossReduction reduction, FisherType fisher, ReadOnlySpan2D<T> output, ReadOnlySpan2D<T> targets, Span<T> destination, int mcSamples = 1, Random? random = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (loss is not (LossFunction.MeanSquaredError or LossFunction.BinaryCrossEntropyWithLogits))
        {
            throw new ArgumentException($"Use {nameof(ComputeCrossEntropy)} for cross-entropy (class-index targets); this overload handles MSE and BCE, not {loss}.", nameof(loss));
        }

        int rows = output.Height, c = output.Width;
        ValidateCommon(fisher, reduction, rows, c, mcSamples, random, output, destination, out int vectors);
        if (fisher == FisherType.Empirical)
        {
            if (targets.Height != rows || targets.Width != c)
            {
                throw new ArgumentException($"The targets must be {rows} × {c} like the output, but they are {targets.Height} × {targets.Width}.", nameof(targets));
            }

            EnsureFinite(targets, nameof(targets));
        }

        if (vectors == 0)
        {
            return;
        }

        double s = reduction == LossReduction.Mean ? 1.0 / rows : 1.0;
        double rowConstant = reduction == LossReduction.Mean ? 1.0 / c : 1.0;
        double sqrtC = Math.Sqrt(rowConstant);
        double invSqrtM = 1.0 / Math.Sqrt(mcSamples);
        bool mse = loss == LossFunction.MeanSquaredError;
        int plane = rows * c;
        destination[..(vectors * plane)].Clear();
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> f = output.GetRowSpan(r);
            for (int j = 0; j < c; j++)
            {
                double fj = double.CreateChecked(f[j]);
                double sig = Sigmoid(fj);
                switch (fisher)
                {
                    case FisherType.Type2:
                        double diag = mse ? Math.Sqrt(2 * rowConstant) : sqrtC * Math.Sqrt(sig * (1 - sig));
                        destination[(j * plane) + (r * c) + j] = T.CreateChecked(s * diag);
                        break;
                    case FisherType.Empirical:
                        double y = double.CreateChecked(targets[r, j]);
                        double k = mse ? (reduction == LossReduction.Mean ? 2 / Math.Sqrt(c) : 2) : (reduction == LossReduction.Mean ? 1 / Math.Sqrt(c) : 1);
                        destination[(r * c) + j] = T.CreateChecked(s * k * ((mse ? fj : sig) - y));
                        break;
                    case FisherType.MonteCarlo:
                        for (int m = 0; m < vectors; m++)
                        {
                            double value = mse
                                ? Math.Sqrt(2 * rowConstant) * NextGaussian(random!)
                                : sqrtC * (sig - (random!.NextDouble() < sig ? 1.0 : 0.0));
                            destination[(m * plane) + (r * c) + j] = T.CreateChecked(s * value * invSqrtM);
                        }

                        break;
                }
            }
        }
    }

    /// <summary>Vectors for cross-entropy on logits with class-index targets.</summary>
    /// <param name="reduction">The loss reduction.</param>
    /// <param name="fisher">The Fisher type.</param>
    /// <param name="logits">Model output, R × C (classes last).</param>
    /// <param name="classes">Target class per row (only read for the empirical Fisher), each in [0, C).</param>
    /// <param name="destination">The vectors, <c>V·R·C</c> values laid out <c>[V, R, C]</c>.</param>
    /// <param name="mcSamples">Monte-Carlo samples (1 for other Fisher types).</param>
    /// <param name="random">Random source for Monte-Carlo draws (required for <see cref="FisherType.MonteCarlo"/>).</param>
    /// <exception cref="ArgumentException">Shapes do not match, a value is not finite, or a class index is out of range.</exception>
    public static void ComputeCrossEntropy<T>(LossReduction reduction, FisherType fisher, ReadOnlySpan2D<T> logits, ReadOnlySpan<int> classes, Span<T> destination, int mcSamples = 1, Random? random = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = logits.Height, c = logits.Width;
        ValidateCommon(fisher, reduction, rows, c, mcSamples, random, logits, destination, out int vectors);
        if (fisher == FisherType.Empirical)
        {
            if (classes.Length != rows)
            {
                throw new ArgumentException($"One class index per row is required ({rows}), but {classes.Length} were given.", nameof(classes));
            }

            foreach (int k in classes)
            {
                if ((uint)k >= (uint)c)
                {
                    throw new ArgumentException($"Class index {k} is outside [0, {c}).", nameof(classes));
                }
            }
        }

        if (vectors == 0)
        {
            return;
        }

        double s = reduction == LossReduction.Mean ? 1.0 / rows : 1.0;
        double invSqrtM = 1.0 / Math.Sqrt(mcSamples);
        int plane = rows * c;
        Span<double> p = c <= 256 ? stackalloc double[c] : new double[c];
        for (int r = 0; r < rows; r++)
        {
            Softmax(logits.GetRowSpan(r), p);
            switch (fisher)
            {
                case FisherType.Type2:
                    for (int v = 0; v < c; v++)
                    {
                        double sp = Math.Sqrt(p[v]);
                        Span<T> dst = destination.Slice((v * plane) + (r * c), c);
                        for (int j = 0; j < c; j++)
                        {
                            dst[j] = T.CreateChecked(s * sp * ((j == v ? 1.0 : 0.0) - p[j]));
                        }
                    }

                    break;
                case FisherType.Empirical:
                    {
                        Span<T> dst = destination.Slice(r * c, c);
                        for (int j = 0; j < c; j++)
                        {
                            dst[j] = T.CreateChecked(s * (p[j] - (j == classes[r] ? 1.0 : 0.0)));
                        }
                    }

                    break;
                case FisherType.MonteCarlo:
                    for (int m = 0; m < vectors; m++)
                    {
                        int sampled = SampleCategorical(p, random!);
                        Span<T> dst = destination.Slice((m * plane) + (r * c), c);
                        for (int j = 0; j < c; j++)
                        {
                            dst[j] = T.CreateChecked(s * (p[j] - (j == sampled ? 1.0 : 0.0)) * invSqrtM);
                        }
                    }

                    break;
            }
        }
    }

    private static void ValidateSamples(FisherType fisher, int mcSamples)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mcSamples, 1);
        if (mcSamples != 1 && fisher != FisherType.MonteCarlo)
        {
            throw new ArgumentException($"mcSamples must be 1 unless the Fisher type is Monte-Carlo (got {mcSamples} for {fisher}).", nameof(mcSamples));
        }
    }

    private static void ValidateCommon<T>(FisherType fisher, LossReduction reduction, int rows, int c, int mcSamples, Random? random, ReadOnlySpan2D<T> output, Span<T> destination, out int vectors)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (reduction is not (LossReduction.Mean or LossReduction.Sum))
        {
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction.");
        }

        if (rows < 1 || c < 1)
        {
            throw new ArgumentException("The output must have at least one row and one column.", nameof(output));
        }

        vectors = Count(fisher, c, mcSamples);
        if (fisher == FisherType.MonteCarlo && random is null)
        {
            throw new ArgumentNullException(nameof(random), "A random source is required for the Monte-Carlo Fisher.");
        }

        if (destination.Length != vectors * rows * c)
        {
            throw new ArgumentException($"The destination must hold V·R·C = {vectors}·{rows}·{c} values, but it holds {destination.Length}.", nameof(destination));
        }

        EnsureFinite(output, nameof(output));
    }

    private static void EnsureFinite<T>(ReadOnlySpan2D<T> values, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < values.Height; r++)
        {
            foreach (T v in values.GetRowSpan(r))
            {
                if (!T.IsFinite(v))
                {
                    throw new ArgumentException($"'{name}' contains a non-finite value ({v}) in row {r}.", name);
                }
            }
        }
    }

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    private static void Softmax<T>(ReadOnlySpan<T> f, Span<double> p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double max = double.NegativeInfinity;
        foreach (T v in f)
        {
            max = Math.Max(max, double.CreateChecked(v));
        }

        double sum = 0;
        for (int j = 0; j < f.Length; j++)
        {
            p[j] = Math.Exp(double.CreateChecked(f[j]) - max);
            sum += p[j];
        }

        for (int j = 0; j < f.Length; j++)
        {
            p[j] /= sum;
        }
    }

    private static int SampleCategorical(ReadOnlySpan<double> p, Random random)
    {
        double u = random.NextDouble(), acc = 0;
        for (int j = 0; j < p.Length; j++)
        {
            acc += p[j];
            if (u < acc)
            {
                return j;
            }
        }

        return p.Length - 1;
    }

    private static double NextGaussian(Random random)
    {
        // Box–Muller; 1 − U avoids log(0).
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
