using System.Diagnostics;
using System.Runtime.Intrinsics;
using Curvature.Backends.Managed;
using Curvature.Backends.Managed.Internals;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// Every vector width of the managed kernels, on this machine: the test assembly runs itself in child processes with
/// the wider instruction sets switched off (<c>DOTNET_EnableAVX512=0</c> → 256-bit kernels, <c>DOTNET_EnableAVX2=0</c> →
/// 128-bit kernels without FMA, <c>DOTNET_EnableHWIntrinsic=0</c> → scalar code), checks there that the expected width
/// was chosen, and compares the child's kernel results (GEMM, SYRK, Cholesky inverse, SYEVD with divide and conquer,
/// double and float) with this process's. .NET 10 ignores the older knob <c>DOTNET_EnableAVX512F</c>; both are set.
/// </summary>
/// <remarks>With <c>CURVATURE_LONG_TESTS=1</c> the children also run the kernel test classes (GEMM, SYRK, Cholesky,
/// symmetric eigen, divide and conquer, shared helpers) against their oracles at each width (a few minutes).</remarks>
public class VectorWidthTests
{
    private const string ProbeVariable = "CURVATURE_WIDTH_PROBE_OUT";

    public static TheoryData<string, int> Configurations => new()
    {
        { "DOTNET_EnableAVX512", 256 },
        { "DOTNET_EnableAVX2", 128 },
        { "DOTNET_EnableHWIntrinsic", 0 },
    };

    [Fact]
    public void DefaultWidth_IsTheWidestAccelerated()
    {
        int expected = Vector512.IsHardwareAccelerated ? 512
            : Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported ? 256
            : Vector128.IsHardwareAccelerated ? 128 : 0;
        Assert.Equal(expected, VectorWidth.Bits);
        Assert.Contains(VectorWidth.Description, new ManagedBackend().Describe());
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void NarrowerWidth_ChosenAndSameResults(string switchOff, int expectedBits)
    {
        if (expectedBits >= VectorWidth.Bits && VectorWidth.Bits != 0)
        {
            Assert.Skip($"This machine's default width is {VectorWidth.Bits} bits; switching off {switchOff} tests nothing new.");
        }

        string output = Path.Combine(Path.GetTempPath(), $"curvature-width-{Environment.ProcessId}-{switchOff}.bin");
        var env = new Dictionary<string, string> { [switchOff] = "0", [ProbeVariable] = output };
        if (switchOff == "DOTNET_EnableAVX512")
        {
            env["DOTNET_EnableAVX512F"] = "0";
        }

        try
        {
            string filter = $"{typeof(VectorWidthTests).FullName}.{nameof(Probe)}";
            var (exit, log) = RunSelf(env, "-method", filter);
            Assert.True(exit == 0, $"child with {switchOff}=0 failed ({exit}):\n{log}");
            Assert.True(File.Exists(output), $"child with {switchOff}=0 wrote no results:\n{log}");
            using (var stream = File.OpenRead(output))
            {
                var (width, differences) = KernelFingerprint.CompareWith(stream);
                Assert.Equal(expectedBits, width);
                Assert.True(differences.Count == 0, string.Join(Environment.NewLine, differences));
            }

            if (Environment.GetEnvironmentVariable("CURVATURE_LONG_TESTS") == "1")
            {
                var full = new Dictionary<string, string> { [switchOff] = "0", ["DOTNET_EnableAVX512F"] = "0" };
                var (fullExit, fullLog) = RunSelf(full,
                    "-class", "*GemmTests", "-class", "*SyrkTests", "-class", "*CholeskyTests",
                    "-class", "*SymmetricEigenTests", "-class", "*TridiagonalDivideAndConquerTests",
                    "-class", "*SymmetricStorageTests", "-class", "*KernelAllocationTests");
                Assert.True(fullExit == 0, $"kernel tests with {switchOff}=0 failed:\n{fullLog}");
            }
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>Runs in the child process only: writes the chosen width and the fingerprint results.</summary>
    [Fact]
    public void Probe()
    {
        string? output = Environment.GetEnvironmentVariable(ProbeVariable);
        if (output is null)
        {
            Assert.Skip("Runs only in the child processes of NarrowerWidth_ChosenAndSameResults.");
        }

        using var stream = File.Create(output!);
        KernelFingerprint.Write(stream);
    }

    private static (int Exit, string Log) RunSelf(Dictionary<string, string> env, params string[] args)
    {
        string self = typeof(VectorWidthTests).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            psi.ArgumentList.Add(self);
        }

        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env)
        {
            psi.Environment[key] = value;
        }

        using var child = Process.Start(psi)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        string stderr = child.StandardError.ReadToEnd();
        child.WaitForExit();
        return (child.ExitCode, stdout.Result + stderr);
    }
}
