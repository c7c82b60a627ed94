using System.Globalization;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>Command-line options of the interleaved mode (see <see cref="InterleavedBenchmark"/>).</summary>
internal sealed class InterleavedOptions
{
    public int[] Sizes { get; private set; } = [256, 512, 1024];

    public string[] Backends { get; private set; } = ["openblas", "mkl", "managed"];

    public string[] Kernels { get; private set; } = ["gemm", "syrk", "cholinv", "syevd", "kfacstep"];

    public string[] Types { get; private set; } = ["double", "float"];

    /// <summary>Pairs per case: at least this many.</summary>
    public int MinPairs { get; private set; } = 21;

    /// <summary>Pairs per case: at most this many.</summary>
    public int MaxPairs { get; private set; } = 401;

    /// <summary>Target timed seconds per case (more pairs for fast kernels, never fewer than <see cref="MinPairs"/>).</summary>
    public double Seconds { get; private set; } = 1.5;

    /// <summary>Warm-up seconds per case (at least two pairs).</summary>
    public double WarmupSeconds { get; private set; } = 1.0;

    public string OutputCsv { get; private set; } = Path.Combine("artifacts", "bench", "interleaved.csv");

    /// <summary>Set in a child process: the one backend it measures.</summary>
    public string? Child { get; private set; }

    public static InterleavedOptions Parse(string[] args)
    {
        var o = new InterleavedOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : string.Empty;
            switch (args[i])
            {
                case "--interleaved":
                    continue;
                case "--sizes":
                    o.Sizes = [.. List(value).Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
                    break;
                case "--backends":
                    o.Backends = List(value);
                    break;
                case "--kernels":
                    o.Kernels = List(value);
                    break;
                case "--types":
                    o.Types = List(value);
                    break;
                case "--pairs":
                    o.MinPairs = Math.Max(3, int.Parse(value, CultureInfo.InvariantCulture));
                    o.MaxPairs = Math.Max(o.MaxPairs, o.MinPairs);
                    break;
                case "--seconds":
                    o.Seconds = double.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--warmup-seconds":
                    o.WarmupSeconds = double.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--interleaved-out":
                    o.OutputCsv = value;
                    break;
                case "--interleaved-child":
                    o.Child = value;
                    break;
                default:
                    throw new ArgumentException($"Unknown option of the interleaved mode: '{args[i]}'.");
            }

            i++;
        }

        return o;
    }

    /// <summary>The arguments of the child process that measures <paramref name="backend"/>.</summary>
    public IEnumerable<string> ChildArguments(string backend, string csv) =>
    [
        "--interleaved", "--interleaved-child", backend, "--interleaved-out", csv,
        "--sizes", string.Join(',', Sizes), "--kernels", string.Join(',', Kernels), "--types", string.Join(',', Types),
        "--pairs", MinPairs.ToString(CultureInfo.InvariantCulture),
        "--seconds", Seconds.ToString(CultureInfo.InvariantCulture),
        "--warmup-seconds", WarmupSeconds.ToString(CultureInfo.InvariantCulture),
    ];

    private static string[] List(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
