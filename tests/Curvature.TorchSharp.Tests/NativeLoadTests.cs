using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests;

/// <summary>
/// TorchSharp loads in this test process (on Debian 12 only because the build weakened libLibTorchSharp.so's
/// GLIBCXX_3.4.32 requirement in the output folder), and the build step's script does what it promises.
/// </summary>
public class NativeLoadTests
{
    private static string Script => Path.Combine(AppContext.BaseDirectory, "native", "weaken_glibcxx_requirement.py");

    [Fact]
    public void Mlp784_256_10_RunsForwardAndBackward()
    {
        manual_seed(1);
        var model = nn.Sequential(("0", nn.Linear(784, 256)), ("1", nn.ReLU()), ("2", nn.Linear(256, 10)));
        using var x = randn(32, 784);
        using var y = randint(0, 10, [32]);
        using var loss = nn.functional.cross_entropy(model.call(x), y);
        loss.backward();

        var last = (Linear)model.named_children().Last().module;
        Assert.True(double.IsFinite(loss.item<float>()));
        Assert.True(last.weight!.grad!.abs().sum().item<float>() > 0);
        Assert.Equal([10L, 256L], last.weight.grad.shape);
    }

    [Fact]
    public void Script_WeakensTheRequirementOfACopy_AndChangesOneByte()
    {
        string dir = TempCopy(out string copy, out byte[] original);
        try
        {
            // Against a "system" library that lacks the version (the original itself defines no versions).
            var (code, text) = Run("patch", copy, "--system-libstdcxx", OriginalPath);
            Assert.True(code == 0, text);
            Assert.Contains("marked GLIBCXX_3.4.32 weak", text);
            byte[] patched = File.ReadAllBytes(copy);
            Assert.Equal(original.Length, patched.Length);
            Assert.Single(Enumerable.Range(0, original.Length), i => original[i] != patched[i]);
            var (checkCode, checkText) = Run("check", copy, "--system-libstdcxx", OriginalPath);
            Assert.Equal(0, checkCode);
            Assert.Contains("GLIBCXX_3.4.32 (weak); relocations binding it: 0", checkText);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Script_RefusesAVersionThatARelocationBinds_AndLeavesTheFile()
    {
        string dir = TempCopy(out string copy, out byte[] original);
        try
        {
            var (code, text) = Run("patch", copy, "--version", "GLIBCXX_3.4.29", "--system-libstdcxx", OriginalPath);
            Assert.Equal(1, code);
            Assert.Contains("relocation(s) bind symbols of GLIBCXX_3.4.29", text);
            Assert.Equal(original, File.ReadAllBytes(copy));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Script_RefusesFilesUnderAForbiddenFolder_AndLeavesTheFile()
    {
        string dir = TempCopy(out string copy, out byte[] original);
        try
        {
            var (code, text) = Run("patch", copy, "--system-libstdcxx", OriginalPath, "--forbid-under", dir);
            Assert.Equal(1, code);
            Assert.Contains("refusing to modify", text);
            Assert.Equal(original, File.ReadAllBytes(copy));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Script_LeavesTheFileWhereTheSystemLibraryHasTheVersion()
    {
        string dir = TempCopy(out string copy, out byte[] original);
        try
        {
            // Every libstdc++ since GCC 9 defines GLIBCXX_3.4.26, which the library also requires.
            var (code, text) = Run("patch", copy, "--version", "GLIBCXX_3.4.26");
            Assert.True(code == 0, text);
            Assert.Contains("provides GLIBCXX_3.4.26: the file is left as it is", text);
            Assert.Equal(original, File.ReadAllBytes(copy));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The unmodified library in the NuGet package folder.</summary>
    private static string OriginalPath
    {
        get
        {
            string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
                ? p
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            string path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
            Assert.True(File.Exists(path), $"TorchSharp's package is not at {path}");
            return path;
        }
    }

    private static string TempCopy(out string copy, out byte[] original)
    {
        string dir = Path.Combine(Path.GetTempPath(), "weaken-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        copy = Path.Combine(dir, "libLibTorchSharp.so");
        File.Copy(OriginalPath, copy);
        original = File.ReadAllBytes(copy);
        return dir;
    }

    private static (int Code, string Text) Run(params string[] args)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Script);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
