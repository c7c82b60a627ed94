using System.Globalization;
using System.Text;
using Curvature.Benchmarks.TorchSharp;
using static TorchSharp.torch;

// The TorchSharp bridge's own cost (capture, copies, write-back; no curvature maths: the observer does nothing) against
// a plain TorchSharp training step (zero_grad, forward, cross-entropy, backward) on the same model and batch, in one
// process, interleaved pair by pair (alternating which runs first), reported as the median of per-pair ratios.
//
// usage: Curvature.Benchmarks.TorchSharp [--pairs N] [--warmup N] [--threads N] [--out FILE.md] [--quick]
int pairs = 300, warmup = 50, threads = 1;
string? outPath = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--pairs": pairs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out": outPath = args[++i]; break;
        case "--quick": pairs = 40; warmup = 10; break;
        default: Console.Error.WriteLine($"unexpected argument '{args[i]}'"); return 2;
    }
}

set_num_threads(threads);
var rows = new List<string>();
foreach (var workload in Workload.All())
{
    foreach (var variant in BridgeVariant.All)
    {
        var result = PairedMeasurement.Run(workload, variant, pairs, warmup);
        string row = string.Create(CultureInfo.InvariantCulture,
            $"| {workload.Name} | {variant.Name} | {result.PlainMedianMs:0.000} | {result.BridgeMedianMs:0.000} | {100 * (result.MedianRatio - 1):+0.0;-0.0} % | {result.PlainBytes:N0} | {result.BridgeBytes:N0} |");
        Console.WriteLine(row);
        rows.Add(row);
    }

    workload.Dispose();
}

if (outPath is not null)
{
    var md = new StringBuilder();
    md.AppendLine("# TorchSharp bridge overhead");
    md.AppendLine();
    md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} logical CPUs ({System.Runtime.InteropServices.RuntimeInformation.OSDescription}), TorchSharp 0.107.0 / libtorch 2.10.0 CPU, {threads} libtorch thread(s), float32."));
    md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Command: `dotnet run -c Release --project benchmarks/Curvature.Benchmarks.TorchSharp -- --pairs {pairs} --warmup {warmup} --threads {threads} --out <this file>`."));
    md.AppendLine();
    md.AppendLine("Plain step: `zero_grad`, forward, cross-entropy (mean), `backward`. Bridged step: the same plus the bridge's own work;");
    md.AppendLine("the observer does nothing (curvature maths excluded). Each pair runs both steps on the same model and batch (order alternating);");
    md.AppendLine("overhead = median over pairs of (bridged / plain) − 1. Times are medians; bytes are managed bytes allocated per step.");
    md.AppendLine();
    md.AppendLine("| model (batch) | bridged step | plain ms | bridged ms | overhead | plain B/step | bridged B/step |");
    md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
    foreach (var row in rows)
    {
        md.AppendLine(row);
    }

    md.AppendLine();
    foreach (var variant in BridgeVariant.All)
    {
        md.AppendLine($"- **{variant.Name}**: {variant.Description}");
    }

    File.WriteAllText(outPath, md.ToString());
    Console.WriteLine($"wrote {outPath}");
}

return 0;
