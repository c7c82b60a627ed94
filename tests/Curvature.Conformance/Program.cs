using Curvature.Conformance;
using Curvature.Native;

// Usage: dotnet run -c Release --project tests/Curvature.Conformance -- <folder> --backend managed|openblas|mkl [--only kfac|ekfac|adafisher]
string? folder = null, backendName = "managed", only = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--backend" when i + 1 < args.Length: backendName = args[++i]; break;
        case "--only" when i + 1 < args.Length: only = args[++i]; break;
        case "-h" or "--help":
            Console.WriteLine("usage: Curvature.Conformance <folder> --backend managed|openblas|mkl [--only kfac|ekfac|adafisher]");
            return 0;
        default:
            if (args[i].StartsWith("--", StringComparison.Ordinal) || folder is not null)
            {
                Console.Error.WriteLine($"unexpected argument '{args[i]}' (see --help)");
                return 2;
            }

            folder = args[i];
            break;
    }
}

if (folder is null || !Directory.Exists(folder))
{
    Console.Error.WriteLine(folder is null ? "a folder of case JSON files is required (see --help)" : $"folder '{folder}' does not exist");
    return 2;
}

Curvature.Backends.CurvatureBackend backend;
try
{
    backend = BackendSelector.Create(BackendSelector.Parse(backendName));
}
catch (Exception e) when (e is ArgumentException or Curvature.BackendUnavailableException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

Console.WriteLine($"backend: {backend.Describe()}");
var (_, failed) = ConformanceRunner.Run(folder, backend, only, Console.Out);
return failed == 0 ? 0 : 1;
