// Curvature build script (Cake). Public tasks: Build, Test, Demo, Bench, Default (= Test).
// Run through ./build.sh --target=<Task> so the pinned Cake tool is restored first.

//////////////////////////////////////////////////////////////////////
// ARGUMENTS
//////////////////////////////////////////////////////////////////////

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var demoArgs = Argument("demo-args", "");
var benchFilter = Argument("bench-filter", "*");

//////////////////////////////////////////////////////////////////////
// GLOBAL VARIABLES
//////////////////////////////////////////////////////////////////////

var root = MakeAbsolute(Directory("."));
var solution = root.CombineWithFilePath("Curvature.slnx");
var artifacts = root.Combine("artifacts");

void Run(string tool, string arguments, IDictionary<string, string> env = null)
{
    Information($"> {tool} {arguments}");
    var settings = new ProcessSettings { Arguments = arguments, WorkingDirectory = root };
    if (env != null) settings.EnvironmentVariables = env;
    int exit = StartProcess(tool, settings);
    if (exit != 0) throw new Exception($"'{tool} {arguments}' failed with exit code {exit}.");
}

//////////////////////////////////////////////////////////////////////
// PRIVATE TASKS
//////////////////////////////////////////////////////////////////////

Task("__InstallNative")
    .Description("Installs OpenBLAS and MKL from Debian (idempotent; fast when present).")
    .Does(() => Run("bash", "native/install-native-libs.sh"));

Task("__Restore")
    .Does(() => Run("dotnet", $"restore \"{solution}\""));

Task("__BuildSolution")
    .IsDependentOn("__Restore")
    .Does(() => Run("dotnet", $"build \"{solution}\" -c {configuration} --no-restore -warnaserror"));

//////////////////////////////////////////////////////////////////////
// PUBLIC TASKS
//////////////////////////////////////////////////////////////////////

Task("Build")
    .IsDependentOn("__BuildSolution");

Task("Test")
    .Description("Installs the native libraries, builds, and runs the whole test suite with MKL and OpenBLAS required.")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // The native libraries were just installed: their tests must run (fail, not skip).
        var env = new Dictionary<string, string> { ["CURVATURE_REQUIRE_NATIVE"] = "1" };
        Run("dotnet", $"test --project tests/Curvature.Tests/Curvature.Tests.csproj -c {configuration} --no-build", env);
    });

Task("Demo")
    .Description("Runs the demo (samples/Curvature.Demo).")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("Build")
    .Does(() => Run("dotnet", $"run -c {configuration} --no-build --project samples/Curvature.Demo/Curvature.Demo.csproj -- {demoArgs}"));

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);
