using System.Globalization;
using System.Text;

namespace Curvature.Benchmarks.Report;

/// <summary>
/// The first section of RESULTS.md: Curvature's public call against the bare routine, measured in one process,
/// interleaved, on the same buffers (Curvature.Benchmarks --interleaved), with the acceptance targets checked.
/// </summary>
internal static class InterleavedSection
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly (string Key, string Title)[] Kernels =
    [
        ("gemm", "GEMM (C = A·B)"),
        ("syrk", "SYRK (lower(C) = AᵀA)"),
        ("cholinv", "Cholesky inverse (?potrf + ?potri)"),
        ("syevd", "SYEVD (values + vectors)"),
        ("kfacstep", "K-FAC step (dense layer, batch 256)"),
    ];

    /// <summary>Builds the section from the CSV the interleaved mode wrote (empty text when the file is missing).</summary>
    public static string Build(string csv, string? command, IReadOnlyList<string> notes)
    {
        if (!File.Exists(csv))
        {
            return string.Empty;
        }

        var rows = File.ReadAllLines(csv).Skip(1).Where(l => l.Length > 0).Select(Row.Parse).ToList();
        var sb = new StringBuilder();
        sb.AppendLine("## Curvature against the bare routine: one process, interleaved (the method for ratios)");
        sb.AppendLine();
        sb.AppendLine("A = Curvature's public call (validation, the screen for NaN/Inf, the routine, and the shared O(n²) work: mirror,");
        sb.AppendLine("transpose, sign rule); B = the bare BLAS/LAPACK routine through the function pointer of the same library handle");
        sb.AppendLine("(for the managed backend: bare OpenBLAS). Same 64-byte-aligned buffers, inputs restored before every call (untimed),");
        sb.AppendLine("A and B alternated (AB, BA, …) for at least 21 pairs, 1 thread; each call timed by the calling thread's CPU clock");
        sb.AppendLine("(all work runs on that thread; time spent descheduled on the shared VM is left out). Cell = **median of the per-pair");
        sb.AppendLine("ratios A/B** with the quartiles of the ratios; below 1 = Curvature faster. Each provider runs in its own process.");
        sb.AppendLine("`identical` = outputs bit for bit equal (after B's transpose and sign rule for SYEVD); otherwise the largest");
        sb.AppendLine("difference relative to the largest entry.");
        if (command is not null)
        {
            sb.AppendLine();
            sb.AppendLine($"Command: `{command}`");
        }

        foreach (string note in notes)
        {
            sb.AppendLine();
            sb.AppendLine($"> {note}");
        }

        sb.AppendLine();
        AppendAcceptance(sb, rows);
        foreach (string impl in new[] { "openblas", "mkl", "managed" })
        {
            var mine = rows.Where(r => r.Implementation == impl).ToList();
            if (mine.Count == 0)
            {
                continue;
            }

            string baseline = mine[0].Baseline;
            sb.AppendLine($"### Curvature {impl} ÷ bare {baseline}");
            sb.AppendLine();
            sb.AppendLine("| kernel | n | double: A/B (p25–p75) | A ms | B ms | check | float: A/B (p25–p75) | A ms | B ms | check |");
            sb.AppendLine("|---|---:|---:|---:|---:|---|---:|---:|---:|---|");
            foreach (var (key, title) in Kernels)
            {
                foreach (int n in mine.Where(r => r.Kernel == key).Select(r => r.N).Distinct().Order())
                {
                    var d = mine.FirstOrDefault(r => r.Kernel == key && r.N == n && r.Type == "double");
                    var f = mine.FirstOrDefault(r => r.Kernel == key && r.N == n && r.Type == "float");
                    sb.AppendLine($"| {title} | {n} | {Cells(d)} | {Cells(f)} |");
                }
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    private static string Cells(Row? r) => r is null
        ? "— | — | — | —"
        : $"**{r.Median.ToString("0.000", Inv)}** ({r.P25.ToString("0.00", Inv)}–{r.P75.ToString("0.00", Inv)}) | {Ms(r.A)} | {Ms(r.B)} | {r.Check}";

    private static string Ms(double v) => v >= 100 ? v.ToString("0", Inv) : v >= 10 ? v.ToString("0.0", Inv) : v.ToString("0.00", Inv);

    /// <summary>The acceptance targets: native ≤ 1.02 (GEMM, SYRK) and ≤ 1.03 (Cholesky inverse, SYEVD) at n = 512 and
    /// 1024; managed at n = 1024 ≤ 1.10 (GEMM, SYRK, Cholesky inverse) and ≤ 1.5 (SYEVD).</summary>
    private static void AppendAcceptance(StringBuilder sb, List<Row> rows)
    {
        sb.AppendLine("### Targets");
        sb.AppendLine();
        sb.AppendLine("| target | cases | worst median A/B | met |");
        sb.AppendLine("|---|---|---:|---|");
        foreach (var (impl, kernels, sizes, limit) in new (string, string[], int[], double)[]
        {
            ("openblas", ["gemm", "syrk"], [512, 1024], 1.02),
            ("openblas", ["cholinv", "syevd"], [512, 1024], 1.03),
            ("mkl", ["gemm", "syrk"], [512, 1024], 1.02),
            ("mkl", ["cholinv", "syevd"], [512, 1024], 1.03),
            ("managed", ["gemm", "syrk", "cholinv"], [1024], 1.10),
            ("managed", ["syevd"], [1024], 1.5),
        })
        {
            var cases = rows.Where(r => r.Implementation == impl && kernels.Contains(r.Kernel) && sizes.Contains(r.N)).ToList();
            if (cases.Count == 0)
            {
                continue;
            }

            var worst = cases.MaxBy(r => r.Median)!;
            string what = $"{impl} {string.Join("/", kernels)}, n = {string.Join(", ", sizes)}, double + float: ≤ {limit.ToString("0.00", Inv)}";
            sb.AppendLine($"| {what} | {cases.Count} | {worst.Median.ToString("0.000", Inv)} ({worst.Kernel} {worst.Type} {worst.N}) | {(worst.Median <= limit ? "yes" : "**no**")} |");
        }

        sb.AppendLine();
    }

    private sealed record Row(string Kernel, string Type, int N, string Implementation, string Baseline, int Pairs, double Median, double P25, double P75, double A, double B, string Check)
    {
        public static Row Parse(string line)
        {
            var f = line.Split(',');
            double D(int i) => double.Parse(f[i], Inv);
            return new Row(f[0], f[1], int.Parse(f[2], Inv), f[3], f[4], int.Parse(f[5], Inv), D(6), D(7), D(8), D(9), D(10), string.Join(",", f.Skip(14)));
        }
    }
}
