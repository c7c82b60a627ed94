using System.Globalization;
using System.Text;
using Curvature.Benchmarks.TorchSharp;
using static TorchSharp.torch;

// The TorchSharp bridge's own cost (binding checks, capture, copies, gradient copy in, write-back; the optimizer's own calls
// timed inside the step and subtracted) against a plain TorchSharp training step (zero_grad, forward, cross-entropy,
// backward) on a twin model and the same batch, in one process, interleaved pair by pair (alternating which runs first),
// reported as the median of per-pair ratios.
//
// usage: Curvature.Benchmarks.TorchSharp [--pairs N] [--warmup N] [--threads N] [--steady-allocator] [--out FILE.md [--append]] [--quick]
int pairs = 300, warmup = 50, threads = 1;
bool steadyAllocator = false, append = false;
string? outPath = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--pairs": pairs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out": outPath = args[++i]; break;
        case "--append": append = true; break;
        case "--steady-allocator": steadyAllocator = true; break;
        case "--quick": pairs = 40; warmup = 10; break;
        default: Console.Error.WriteLine($"unexpected argument '{args[i]}'"); return 2;
    }
}

if (steadyAllocator && !SteadyAllocator.Enable())
{
    Console.Error.WriteLine("mallopt failed (glibc only)");
    return 2;
}

set_num_threads(threads);
var rows = new List<string>();
foreach (var workload in Workload.All())
{
    foreach (var variant in BridgeVariant.All)
    {
        var result = PairedMeasurement.Run(workload, variant, pairs, warmup);
        string row = string.Create(CultureInfo.InvariantCulture,
            $"| {workload.Name} | {variant.Name} | {result.PlainCpuMs:0.000} | {result.BridgeCpuMs:0.000} | {result.OptimizerCpuMs:0.000} | **{100 * (result.MedianCpuRatio - 1):+0.0;-0.0} %** | {result.PlainWallMs:0.000} | {result.BridgeWallMs:0.000} | {result.OptimizerWallMs:0.000} | {100 * (result.MedianWallRatio - 1):+0.0;-0.0} % | {result.PlainBytes:N0} | {result.BridgeBytes:N0} | {result.PlainFaults:0} | {result.BridgeFaults:0} |");
        Console.WriteLine(row);
        rows.Add(row);
    }

    workload.Dispose();
}

if (outPath is not null)
{
    var md = new StringBuilder();
    if (!append)
    {
        md.AppendLine("# TorchSharp bridge overhead");
        md.AppendLine();
    }

    string? tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES");
    md.AppendLine(steadyAllocator ? "## glibc malloc keeping large blocks (`--steady-allocator`)"
        : tunables is { Length: > 0 } ? $"## glibc malloc with `GLIBC_TUNABLES={tunables}`" : "## Default glibc malloc");
    md.AppendLine();
    md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} logical CPUs ({System.Runtime.InteropServices.RuntimeInformation.OSDescription}), TorchSharp 0.107.0 / libtorch 2.10.0 CPU, {threads} libtorch thread(s), float32, {pairs} pairs after {warmup} warm-up pairs."));
    md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Load average when the run ended: {LoadAverage()} (other jobs shared the 2 vCPUs)."));
    md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Command: `{(tunables is { Length: > 0 } ? $"GLIBC_TUNABLES={tunables} " : "")}dotnet run -c Release --project benchmarks/Curvature.Benchmarks.TorchSharp -- --pairs {pairs} --warmup {warmup} --threads {threads}{(steadyAllocator ? " --steady-allocator" : "")} --out <this file>{(append ? " --append" : "")}`."));
    md.AppendLine();
    md.AppendLine("Plain step: `zero_grad`, forward, cross-entropy (mean), `backward`. Bridged step: what a user writes with `TorchCurvature.Attach`");
    md.AppendLine("(`zero_grad`, forward inside `Record()`, the loss, `Step` or `Precondition`) on a twin model with the same weights, with the optimizer's");
    md.AppendLine("default settings and every step observing (statistics update period 1). The optimizer's own calls (`ObserveAll`, `Step` / `Precondition`:");
    md.AppendLine("the curvature maths and the parameter update) are timed inside each bridged step and subtracted; the rest is the bridge's cost.");
    md.AppendLine("Each pair runs both steps on the same batch (order alternating); overhead = median over pairs of (bridged − optimizer calls) / plain − 1,");
    md.AppendLine("from the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`: with one libtorch thread all work runs on the calling thread, and time spent");
    md.AppendLine("descheduled on this shared machine is not counted) and from wall time. Times are medians; bytes are managed bytes allocated per step");
    md.AppendLine("(TorchSharp allocates a managed object per tensor handle); faults are the thread's minor page faults per step (`getrusage`).");
    md.AppendLine();
    md.AppendLine("| model (batch) | bridged step | plain CPU ms | bridged CPU ms | optimizer CPU ms (subtracted) | overhead (CPU) | plain wall ms | bridged wall ms | optimizer wall ms | overhead (wall) | plain B/step | bridged B/step | plain faults/step | bridged faults/step |");
    md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var row in rows)
    {
        md.AppendLine(row);
    }

    md.AppendLine();
    if (steadyAllocator)
    {
        md.AppendLine("glibc's `mallopt` keeps large blocks (mmap and trim thresholds 1 GiB), so libtorch reuses its activation buffers instead of");
        md.AppendLine("mapping and faulting them in anew each step; with the default settings those page faults add noise that can exceed the bridge's cost.");
    }
    else if (tunables is not { Length: > 0 })
    {
        md.AppendLine("With glibc's default settings large freed blocks go back to the kernel and are mapped and faulted in anew; the bridged step keeps");
        md.AppendLine("each observed layer's output (and, for the empirical Fisher, its gradient) alive until the backward pass is done, so its peak memory");
        md.AppendLine("is higher and it faults in more pages (faults columns), which dominates the convolutional model's rows here; see the sections below.");
        md.AppendLine();
    }
    else
    {
        md.AppendLine("The same without changing the program: glibc's tunables (set in the environment of any process, a TorchSharp application");
        md.AppendLine("included) keep large blocks in the heap, so libtorch's buffers are reused instead of being mapped and faulted in anew.");
    }

    if (!append)
    {
        foreach (var variant in BridgeVariant.All)
        {
            md.AppendLine($"- **{variant.Name}**: {variant.Description}");
        }
    }

    md.AppendLine();
    if (append)
    {
        File.AppendAllText(outPath, md.ToString());
    }
    else
    {
        File.WriteAllText(outPath, md.ToString());
    }

    Console.WriteLine($"wrote {outPath}");
}

return 0;

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
