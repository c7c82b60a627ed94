using System.Reflection;

namespace Curvature.Tests.TestKit;

/// <summary>Where the repository and the build outputs are, seen from the test assembly.</summary>
public static class RepositoryPaths
{
    /// <summary>The repository root (the folder holding Curvature.slnx).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration the tests were built in (Debug or Release); the libraries were built in the same one.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    /// <summary>Every library project (one package each): src/&lt;Name&gt;/&lt;Name&gt;.csproj.</summary>
    public static IReadOnlyList<string> LibraryProjects() =>
        [.. Directory.GetDirectories(Path.Combine(Root, "src"))
            .Select(d => Path.Combine(d, Path.GetFileName(d) + ".csproj"))
            .Where(File.Exists)
            .Order(StringComparer.Ordinal)];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Curvature.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Curvature.slnx above {AppContext.BaseDirectory}.");
    }
}
