using Curvature.Native;

namespace Curvature.Conformance;

/// <summary>
/// The runner's command line: <c>&lt;folder&gt; --backend managed|openblas|mkl [--only kfac|ekfac|adafisher] [--via stored|…]</c>.
/// Executables that can recompute the layer data (the TorchSharp test project) call it with their own sources.
/// </summary>
public static class ConformanceCommandLine
{
    /// <summary>Parses <paramref name="args"/>, runs the cases and returns the exit code (0 all passed, 1 a case failed, 2 bad arguments).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="sources">The layer-data sources this executable offers, by <c>--via</c> name (<c>stored</c> is always offered).</param>
    /// <param name="output">Standard output.</param>
    /// <param name="error">Standard error.</param>
    public static int Run(string[] args, IReadOnlyDictionary<string, Func<ILayerDataSource>> sources, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(sources);
        var offered = new Dictionary<string, Func<ILayerDataSource>>(sources, StringComparer.Ordinal) { ["stored"] = () => StoredLayerData.Instance };
        string usage = $"usage: <folder> --backend managed|openblas|mkl [--only kfac|ekfac|adafisher] [--via {string.Join("|", offered.Keys.Order(StringComparer.Ordinal))}]";
        string? folder = null, backendName = "managed", only = null, via = "stored";
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--backend" when i + 1 < args.Length: backendName = args[++i]; break;
                case "--only" when i + 1 < args.Length: only = args[++i]; break;
                case "--via" when i + 1 < args.Length: via = args[++i]; break;
                case "-h" or "--help":
                    output.WriteLine(usage);
                    return 0;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal) || folder is not null)
                    {
                        error.WriteLine($"unexpected argument '{args[i]}' (see --help)");
                        return 2;
                    }

                    folder = args[i];
                    break;
            }
        }

        if (!offered.TryGetValue(via, out var createSource))
        {
            error.WriteLine(via == "torchsharp"
                ? "--via torchsharp runs from the TorchSharp test project (this runner stays free of libtorch): dotnet run -c Release --project tests/Curvature.TorchSharp.Tests -- <folder> --backend <name> --via torchsharp"
                : $"unknown --via '{via}'; this runner offers: {string.Join(", ", offered.Keys.Order(StringComparer.Ordinal))}");
            return 2;
        }

        if (folder is null || !Directory.Exists(folder))
        {
            error.WriteLine(folder is null ? "a folder of case JSON files is required (see --help)" : $"folder '{folder}' does not exist");
            return 2;
        }

        Curvature.Backends.CurvatureBackend backend;
        try
        {
            backend = BackendSelector.Create(BackendSelector.Parse(backendName));
        }
        catch (Exception e) when (e is ArgumentException or BackendUnavailableException)
        {
            error.WriteLine(e.Message);
            return 2;
        }

        output.WriteLine($"backend: {backend.Describe()}");
        var source = createSource();
        if (source is not StoredLayerData)
        {
            output.WriteLine($"layer data: via {source.Name}");
        }

        try
        {
            var (_, failed) = ConformanceRunner.Run(folder, backend, only, output, source);
            return failed == 0 ? 0 : 1;
        }
        catch (ArgumentException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
    }
}
