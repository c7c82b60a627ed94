using System.Diagnostics;
using Curvature.Native;
using Curvature.NativeProbe;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Native;

/// <summary>
/// Each provider runs its own code whatever else is loaded (OpenBLAS's internal LAPACK calls must not bind to MKL's
/// symbols), and MKL's reproducible mode gives bit-identical results for every buffer alignment. Both need a fresh
/// process, so they run <c>Curvature.NativeProbe</c> as a child.
/// </summary>
public class ProviderIsolationTests
{
    [Fact]
    public void OpenBlas_ResultsAreBitIdentical_WithAndWithoutMklLoaded()
    {
        RequireNative();
        string alone = Single(RunProbe("openblas-digest"), "openblas");
        string afterMkl = Single(RunProbe("openblas-digest", "--load-mkl-first"), "openblas");
        Assert.Equal(alone, afterMkl);

        // This test process loads both providers too.
        TestBackends.Get("mkl");
        var openBlas = NativeBackend.Load(new NativeBackendOptions { Backend = BackendChoice.OpenBlas });
        Assert.Equal(alone, KernelDigest.Compute(openBlas, 0));
    }

    [Fact]
    public void Mkl_ReproducibleMode_IsBitIdenticalAcrossBufferAlignments()
    {
        RequireNative();
        var lines = RunProbe("mkl-alignment-digests", "--reproducible");
        Assert.Equal(8, lines.Count);
        var digests = lines.Select(l => l.Split(' ')[2]).Distinct().ToList();
        Assert.True(digests.Count == 1, $"{digests.Count} distinct results over 8 alignments:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
    }

    private static void RequireNative()
    {
        TestBackends.Get("openblas"); // skips (or fails when native is required) when a provider cannot load
        TestBackends.Get("mkl");
    }

    private static string Single(List<string> lines, string prefix)
    {
        var line = Assert.Single(lines, l => l.StartsWith(prefix + " ", StringComparison.Ordinal));
        return line[(prefix.Length + 1)..];
    }

    internal static List<string> RunProbe(params string[] arguments)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Curvature.NativeProbe.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove("MKL_CBWR"); // the child must not inherit a reproducible mode from the environment
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the probe did not finish in 2 minutes");
        Assert.True(process.ExitCode == 0, $"probe {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
