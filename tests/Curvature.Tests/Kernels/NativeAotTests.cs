using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// The managed kernels under NativeAOT: tests/Curvature.AotProbe (the kernel fingerprint of <see cref="KernelFingerprint"/>)
/// is published with <c>PublishAot=true</c> twice, with the default instruction set (x64: 128-bit kernels) and with
/// <c>IlcInstructionSet=x86-64-v3</c> (AVX2 + FMA: 256-bit kernels), run, and its results compared with this (JIT)
/// process's, within the tolerances between vector widths.
/// </summary>
/// <remarks>Slow (two NativeAOT publishes, about 2–4 minutes) and needs the native toolchain (clang, zlib): it runs only
/// with <c>CURVATURE_AOT_TEST=1</c>, as <c>./build.sh --target=TestAot</c> does after installing the toolchain
/// (tests/Curvature.AotProbe/install-toolchain.sh).</remarks>
public class NativeAotTests
{
    [Theory]
    [InlineData("", 128)]
    [InlineData("x86-64-v3", 256)]
    public void AotPublishedProgram_ComputesTheSameResults(string instructionSet, int expectedWidth)
    {
        if (Environment.GetEnvironmentVariable("CURVATURE_AOT_TEST") != "1")
        {
            Assert.Skip("Set CURVATURE_AOT_TEST=1 (./build.sh --target=TestAot) to publish and run the NativeAOT probe.");
        }

        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            Assert.Skip("The instruction-set variants are x64 ones.");
        }

        string root = FindRepositoryRoot();
        string project = Path.Combine(root, "tests", "Curvature.AotProbe", "Curvature.AotProbe.csproj");
        string outDir = Path.Combine(Path.GetTempPath(), $"curvature-aot-{Environment.ProcessId}-{(instructionSet == "" ? "default" : instructionSet)}");
        string publish = $"publish \"{project}\" -c Release -r linux-x64 -o \"{outDir}\"" +
            (instructionSet == "" ? "" : $" -p:IlcInstructionSet={instructionSet}");
        var (exit, log) = Run("dotnet", publish, root);
        Assert.True(exit == 0, $"dotnet {publish} failed:\n{log}");

        string output = Path.Combine(outDir, "fingerprint.bin");
        var (probeExit, probeLog) = Run(Path.Combine(outDir, "Curvature.AotProbe"), $"\"{output}\"", root);
        Assert.True(probeExit == 0, $"the AOT probe failed:\n{probeLog}");
        using var stream = File.OpenRead(output);
        var (width, differences) = KernelFingerprint.CompareWith(stream);
        Assert.Equal(expectedWidth, width);
        Assert.True(differences.Count == 0, string.Join(Environment.NewLine, differences));
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Curvature.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Curvature.slnx not found above the test directory.");
    }

    private static (int Exit, string Log) Run(string file, string arguments, string workingDirectory)
    {
        var psi = new ProcessStartInfo(file, arguments)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }
}
