using System.Diagnostics;
using Curvature.Tests.TestKit;

namespace Curvature.Tests.Packaging;

/// <summary>
/// Packs every library of the repository (from the build the tests run on) into a temporary folder and builds the
/// consumer program of tests/packaging/consumer against those packages only; shared by the consumption tests.
/// </summary>
/// <remarks>
/// Restore sees exactly two sources, through its own NuGet.config: the temporary folder, which alone may provide
/// <c>Curvature.*</c> (package source mapping), and the machine's global packages folder as a read-only source for
/// third-party dependencies (CommunityToolkit.HighPerformance, System.IO.Hashing), which the repository's own restore has
/// already put there, so the test needs no network. Packages are extracted into a fresh folder of the test's own
/// (NUGET_PACKAGES), so a package of the same version cached by an earlier run can never stand in for the new one.
/// </remarks>
public sealed class PackedConsumer : IDisposable
{
    private readonly Lazy<Built> _built;

    public PackedConsumer()
    {
        Root = Path.Combine(Path.GetTempPath(), "curvature-consumption-" + Guid.NewGuid().ToString("N")[..12]);
        _built = new Lazy<Built>(Build, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The temporary folder holding the feed, the extracted packages and the consumer.</summary>
    public string Root { get; }

    public string Feed => Path.Combine(Root, "feed");

    public string App => Path.Combine(Root, "app");

    public string Packages => Path.Combine(Root, "packages");

    /// <summary>The packed version, the program's path and how long each stage took.</summary>
    public Built Get() => _built.Value;

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Root))
            {
                Directory.Delete(Root, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
    }

    private Built Build()
    {
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(Packages);
        var timings = new List<(string, TimeSpan)>();
        var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Packages };

        // 1. Pack what the tests were built from (no rebuild; package validation runs as part of pack).
        foreach (var project in RepositoryPaths.LibraryProjects())
        {
            var r = DotnetCli.Run(["pack", project, "-c", RepositoryPaths.Configuration, "--no-build", "--disable-build-servers", "-o", Feed], RepositoryPaths.Root)
                .EnsureSuccess($"dotnet pack {Path.GetFileName(project)}");
            timings.Add(($"pack {Path.GetFileNameWithoutExtension(project)}", r.Elapsed));
        }

        string managed = Directory.GetFiles(Feed, "Curvature.Managed.*.nupkg").Single(f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
        string version = Path.GetFileNameWithoutExtension(managed)["Curvature.Managed.".Length..];

        // 2. The consumer, outside the repository, with a NuGet.config of its own.
        Directory.CreateDirectory(App);
        string source = Path.Combine(RepositoryPaths.Root, "tests", "packaging", "consumer");
        foreach (var file in new[] { "Curvature.Consumer.csproj", "Program.cs" })
        {
            File.Copy(Path.Combine(source, file), Path.Combine(App, file));
        }

        string machineCache = MachinePackagesFolder();
        File.WriteAllText(Path.Combine(App, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="curvature-local" value="{Feed}" />
                <add key="machine-cache" value="{machineCache}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="curvature-local"><package pattern="Curvature.*" /></packageSource>
                <packageSource key="machine-cache"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);

        string project2 = Path.Combine(App, "Curvature.Consumer.csproj");
        var restore = DotnetCli.Run(["restore", project2, "--configfile", Path.Combine(App, "NuGet.config"), "--disable-build-servers", $"-p:CurvatureVersion={version}"], App, env)
            .EnsureSuccess("dotnet restore (consumer)");
        timings.Add(("restore", restore.Elapsed));
        var build = DotnetCli.Run(["build", project2, "-c", "Release", "--no-restore", "--disable-build-servers", $"-p:CurvatureVersion={version}", "-o", Path.Combine(App, "out")], App, env)
            .EnsureSuccess("dotnet build (consumer)");
        timings.Add(("build", build.Elapsed));

        return new Built(version, Path.Combine(App, "out", "Curvature.Consumer.dll"), timings, total.Elapsed);
    }

    private static string MachinePackagesFolder()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        var r = DotnetCli.Run(["nuget", "locals", "global-packages", "--list"], RepositoryPaths.Root).EnsureSuccess("dotnet nuget locals");
        string line = r.Output.Split('\n').Single(l => l.Contains("global-packages:", StringComparison.Ordinal));
        return line[(line.IndexOf(':') + 1)..].Trim();
    }

    /// <summary>What <see cref="Build"/> produced.</summary>
    public sealed record Built(string Version, string Program, IReadOnlyList<(string Stage, TimeSpan Elapsed)> Timings, TimeSpan Total);
}
