using Curvature.Native;

namespace Curvature.Demo;

/// <summary>Process entry point: <c>./build.sh --target=Demo</c> runs it with no arguments.</summary>
public static class Program
{
    /// <summary>Runs the demo on the console.</summary>
    public static int Main(string[] args) =>
        DemoApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected,
            backendEnvironment: Environment.GetEnvironmentVariable(BackendSelector.EnvironmentVariable));
}
