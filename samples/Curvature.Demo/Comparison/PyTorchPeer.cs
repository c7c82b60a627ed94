using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Curvature.Demo.Cli;

namespace Curvature.Demo.Comparison;

/// <summary>
/// The PyTorch peer (<c>benchmarks/peers/torch_fashion_mnist.py --serve</c>) as a child process that trains chunks of
/// Adam steps on command and reports each step's time, so the demo can alternate its own chunks with PyTorch's.
/// </summary>
public sealed class PyTorchPeer : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly Process _process;

    private PyTorchPeer(Process process, JsonElement ready)
    {
        _process = process;
        Ready = ready;
    }

    /// <summary>The peer's ready line (model, parameters, torch version, threads…).</summary>
    public JsonElement Ready { get; }

    /// <summary>The script's path relative to the repository root.</summary>
    public const string ScriptInRepository = "benchmarks/peers/torch_fashion_mnist.py";

    /// <summary>Finds the peer script: <paramref name="path"/> when given, else in the repository that holds the
    /// current folder or the demo's binaries.</summary>
    /// <exception cref="DemoUsageException">The script is not there.</exception>
    public static string LocateScript(string? path)
    {
        if (path is not null)
        {
            return File.Exists(path) ? Path.GetFullPath(path) : throw new DemoUsageException($"the PyTorch peer script '{path}' does not exist.");
        }

        foreach (string? start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (string? dir = start; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                string candidate = Path.Combine(dir, ScriptInRepository);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new DemoUsageException($"cannot find the PyTorch peer script {ScriptInRepository} (run from the repository, or give --peer-script).");
    }

    /// <summary>Starts the peer and waits until it has loaded the data and built the model.</summary>
    /// <exception cref="DemoUsageException">Python or PyTorch is missing, or the peer failed to start (its error output is in the message).</exception>
    public static PyTorchPeer Start(string python, string script, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.ArgumentList.Add("--serve");
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new DemoUsageException($"cannot start '{python}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DemoUsageException($"cannot start '{python}': {e.Message}. Install the PyTorch peer: bash native/baseline/install-peers.sh");
        }

        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        var readLine = process.StandardOutput.ReadLineAsync();
        if (!readLine.Wait(StartTimeout) || readLine.Result is not string line)
        {
            Stop(process);
            lock (errors)
            {
                throw new DemoUsageException($"the PyTorch peer did not start ({python} {script}): {errors.ToString().Trim()} " +
                    "(Debian's python3-torch is installed by native/baseline/install-peers.sh).");
            }
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            return new PyTorchPeer(process, document.RootElement.Clone());
        }
        catch (JsonException)
        {
            Stop(process);
            throw new DemoUsageException($"the PyTorch peer printed '{line}' instead of its ready line.");
        }
    }

    /// <summary>Trains <paramref name="steps"/> more steps in the peer and returns each step's wall time and the peer
    /// process's CPU time during it, in milliseconds.</summary>
    /// <exception cref="InvalidOperationException">The peer failed or answered something else.</exception>
    public (double[] WallMilliseconds, double[] CpuMilliseconds) RunSteps(int steps)
    {
        _process.StandardInput.WriteLine($"run {steps}");
        _process.StandardInput.Flush();
        string line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"the PyTorch peer stopped (exit code {(_process.HasExited ? _process.ExitCode : -1)}).");
        using var document = JsonDocument.Parse(line);
        if (!document.RootElement.TryGetProperty("step_ms", out var wall) || !document.RootElement.TryGetProperty("cpu_ms", out var cpu))
        {
            throw new InvalidOperationException($"the PyTorch peer answered: {line}");
        }

        return ([.. wall.EnumerateArray().Select(t => t.GetDouble())], [.. cpu.EnumerateArray().Select(t => t.GetDouble())]);
    }

    /// <summary>Asks the peer to quit and waits for it (kills it after 10 s).</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
                _process.StandardInput.Flush();
            }
        }
        catch (IOException)
        {
            // The peer is gone already.
        }

        Stop(_process);
        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        if (!process.WaitForExit(10_000))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }
}
