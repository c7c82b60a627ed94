namespace Curvature.Tests.Optimizers;

/// <summary>
/// An independent, deliberately plain float64 transcription of FORMAT.md section 5 (the official AdaFisher rule):
/// raw statistics per layer kind, MinMax, the (γ/10, γ/100) running average starting at ones, F = S·Hᵀ + Λ, and the
/// AdaFisher / AdaFisherW updates. Used as the oracle for cases no reference file covers.
/// </summary>
internal sealed class OfficialOracle
{
    public sealed class Layer
    {
        public required string Name { get; init; }
        public required string Kind { get; init; } // linear | conv2d | bn | ln
        public int In { get; init; }
        public int Out { get; init; }
        public bool Bias { get; init; }
        public int Cin { get; init; }
        public int Kh { get; init; }
        public int Kw { get; init; }
        public int Sh { get; init; } = 1;
        public int Sw { get; init; } = 1;
        public int Ph { get; init; }
        public int Pw { get; init; }
        public int Groups { get; init; } = 1;
        public double[] H = [];
        public double[] S = [];
    }

    private readonly double _lr, _beta, _lambda, _gamma, _wd;
    private readonly int _tcov;
    private readonly bool _decoupled;
    public readonly List<Layer> Layers = [];
    public readonly Dictionary<string, double[]> Params = [];
    public readonly Dictionary<string, double[]> ExpAvg = [];
    private readonly Dictionary<string, int> _paramSteps = [];
    public int Steps;

    public OfficialOracle(double lr, double beta, double lambda, double gamma, int tcov, double wd, bool decoupled)
    {
        (_lr, _beta, _lambda, _gamma, _tcov, _wd, _decoupled) = (lr, beta, lambda, gamma, tcov, wd, decoupled);
    }

    public bool Refresh => Steps % _tcov == 0;

    public static (double[] H, double[] S) Raw(Layer l, double[] a, int[] shape, double[] g)
    {
        switch (l.Kind)
        {
            case "linear":
            {
                int rows = a.Length / l.In;
                var h = new double[l.In + (l.Bias ? 1 : 0)];
                var s = new double[l.Out];
                for (int r = 0; r < rows; r++)
                {
                    for (int j = 0; j < l.In; j++)
                    {
                        h[j] += a[r * l.In + j] * a[r * l.In + j];
                    }

                    if (l.Bias)
                    {
                        h[l.In] += 1;
                    }

                    for (int i = 0; i < l.Out; i++)
                    {
                        s[i] += g[r * l.Out + i] * g[r * l.Out + i];
                    }
                }

                for (int j = 0; j < h.Length; j++) h[j] /= rows;
                for (int i = 0; i < s.Length; i++) s[i] /= rows;
                return (h, s);
            }

            case "conv2d":
            {
                int n = shape[0], hgt = shape[2], wid = shape[3];
                int cg = l.Cin / l.Groups;
                int d = cg * l.Kh * l.Kw;
                // dilation ignored (official _extract_patches)
                int oh = (hgt + 2 * l.Ph - l.Kh) / l.Sh + 1, ow = (wid + 2 * l.Pw - l.Kw) / l.Sw + 1;
                var h = new double[d + (l.Bias ? 1 : 0)];
                for (int b = 0; b < n; b++)
                for (int grp = 0; grp < l.Groups; grp++)
                for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                {
                    int f = 0;
                    for (int c = 0; c < cg; c++)
                    for (int i = 0; i < l.Kh; i++)
                    for (int j = 0; j < l.Kw; j++)
                    {
                        int r = y * l.Sh + i - l.Ph, q = x * l.Sw + j - l.Pw;
                        double v = r >= 0 && r < hgt && q >= 0 && q < wid ? a[((b * l.Cin + grp * cg + c) * hgt + r) * wid + q] : 0;
                        h[f++] += v * v;
                    }

                    if (l.Bias) h[d] += 1;
                }

                double div = (double)n * oh * ow * d; // the quirk: N·L·d
                for (int j = 0; j < h.Length; j++) h[j] /= div;
                int gl = g.Length / (n * l.Out);
                var s = new double[l.Out];
                for (int b = 0; b < n; b++)
                for (int c = 0; c < l.Out; c++)
                for (int p = 0; p < gl; p++)
                {
                    double v = g[(b * l.Out + c) * gl + p];
                    s[c] += v * v;
                }

                for (int c = 0; c < l.Out; c++) s[c] /= (double)n * gl;
                return (h, s);
            }

            case "bn":
            {
                int n = shape[0], ch = shape[1], sp = shape[2] * shape[3];
                double h0 = 0;
                var s = new double[ch];
                for (int c = 0; c < ch; c++)
                {
                    double sa = 0, sg = 0;
                    for (int b = 0; b < n; b++)
                    for (int p = 0; p < sp; p++)
                    {
                        sa += a[(b * ch + c) * sp + p];
                        sg += g[(b * ch + c) * sp + p];
                    }

                    double u = sa / ((double)sp * sp);
                    h0 += u * u;
                    s[c] = sg * sg / n;
                }

                return ([h0 / ((double)n * n), (double)ch / ((double)n * n)], s);
            }

            default: // ln over [B, T, rest..., D]; weight over D
            {
                int bsz = shape[0], t = shape[1];
                int rest = a.Length / (bsz * t);
                double h0 = 0;
                for (int k = 0; k < t; k++)
                {
                    double sum = 0;
                    for (int b = 0; b < bsz; b++)
                    for (int e = 0; e < rest; e++)
                    {
                        sum += a[(b * t + k) * rest + e];
                    }

                    double u = sum / ((double)rest * rest);
                    h0 += u * u;
                }

                int dd = l.Out;
                var s = new double[dd];
                for (int idx = 0; idx < g.Length; idx++) s[idx % dd] += g[idx];
                for (int k = 0; k < dd; k++) s[k] = s[k] * s[k] / bsz;
                return ([h0 / ((double)bsz * bsz), (double)t / ((double)bsz * bsz)], s);
            }
        }
    }

    public static double[] MinMax(double[] x)
    {
        var y = x.Select(v => double.IsPositiveInfinity(v) ? 1 : double.IsNegativeInfinity(v) ? 0 : v).ToArray();
        double min = y.Min(), max = y.Max();
        return y.Select(v => (v - min) / (max - min + 1e-6)).ToArray();
    }

    public void Observe(string name, double[] a, int[] shape, double[] g)
    {
        var l = Layers.Single(x => x.Name == name);
        var (h, s) = Raw(l, a, shape, g);
        if (Steps == 0)
        {
            l.H = Enumerable.Repeat(1.0, h.Length).ToArray();
            l.S = Enumerable.Repeat(1.0, s.Length).ToArray();
        }

        var mh = MinMax(h);
        var ms = MinMax(s);
        for (int j = 0; j < h.Length; j++) l.H[j] = l.H[j] * (_gamma * 0.1) + (_gamma * 0.01) * mh[j];
        for (int i = 0; i < s.Length; i++) l.S[i] = l.S[i] * (_gamma * 0.1) + (_gamma * 0.01) * ms[i];
    }

    /// <summary>F̃ for every parameter of <paramref name="l"/> (weight, then bias).</summary>
    private (string Name, double[] F)[] Fisher(Layer l)
    {
        bool norm = l.Kind is "bn" or "ln";
        int cols = norm ? 2 : l.H.Length;
        var f = new double[l.S.Length, cols];
        for (int i = 0; i < l.S.Length; i++)
        for (int j = 0; j < cols; j++)
            f[i, j] = l.S[i] * l.H[j] + _lambda;
        int wcols = norm ? 1 : (l.Bias ? cols - 1 : cols);
        var w = new double[l.S.Length * wcols];
        for (int i = 0; i < l.S.Length; i++)
        for (int j = 0; j < wcols; j++)
            w[i * wcols + j] = f[i, j];
        var list = new List<(string, double[])> { (l.Name + ".weight", w) };
        if (l.Bias)
        {
            list.Add((l.Name + ".bias", Enumerable.Range(0, l.S.Length).Select(i => f[i, cols - 1]).ToArray()));
        }

        return [.. list];
    }

    public void Step(Dictionary<string, double[]> grads)
    {
        var fisher = new Dictionary<string, double[]>();
        foreach (var l in Layers)
        {
            foreach (var (name, f) in Fisher(l)) fisher[name] = f;
        }

        foreach (var (name, p) in Params)
        {
            var grad = (double[])grads[name].Clone();
            var f = fisher.TryGetValue(name, out var ff) ? ff : Enumerable.Repeat(1.0, p.Length).ToArray();
            if (!ExpAvg.TryGetValue(name, out var m))
            {
                m = ExpAvg[name] = new double[p.Length];
                _paramSteps[name] = 0;
            }

            int k = ++_paramSteps[name];
            double bc = 1 - Math.Pow(_beta, k);
            for (int i = 0; i < p.Length; i++)
            {
                if (!_decoupled)
                {
                    double gi = _wd != 0 ? grad[i] + _wd * p[i] : grad[i];
                    m[i] = _beta * m[i] + (1 - _beta) * gi;
                    p[i] = p[i] - (_lr / bc) * m[i] / f[i];
                }
                else
                {
                    m[i] = _beta * m[i] + (1 - _beta) * grad[i];
                    p[i] = p[i] - _lr * (m[i] / bc / f[i] + _wd * p[i]);
                }
            }
        }

        Steps++;
    }
}
