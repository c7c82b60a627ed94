// Curvature build script (Cake). Public tasks: Build, Test, Pack, Fuzz, TestLong, TestAot, Demo, DemoPeer, Bench, Default (= Test).
// Run through ./build.sh --target=<Task> so the pinned Cake tool is restored first.

//////////////////////////////////////////////////////////////////////
// ARGUMENTS
//////////////////////////////////////////////////////////////////////

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var demoArgs = Argument("demo-args", "");
var benchFilter = Argument("bench-filter", "*");
var benchQuick = Argument("bench-quick", false);          // smoke test: short job, n = 128, results under artifacts/bench/quick-results
var benchSizes = Argument("bench-sizes", "");              // e.g. 128,256 (default: 128,256,512,1024; quick: 128)
var benchBackends = Argument("bench-backends", "");        // e.g. managed,openblas (default: all that load)
var benchOut = Argument("bench-out", "");                  // where RESULTS.md and the chart go (default: benchmarks/results)
var versionSuffix = Argument("version-suffix", "");        // Pack: pre-release suffix, e.g. preview.1 (the version itself is VersionPrefix in src/Directory.Build.props)
var fuzzMinutes = Argument("fuzz-minutes", 30.0);          // Fuzz: total minutes, spread over the properties
var fuzzSeed = Argument("fuzz-seed", "");                  // Fuzz: replay the seed a failure printed (one case per property)
var benchInterleavedSizes = Argument("bench-interleaved-sizes", ""); // orders of the interleaved A/B mode (default 256,512,1024; quick: 128)

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
    .Description("Installs OpenBLAS, MKL and python3 from Debian (idempotent; fast when present).")
    .Does(() => Run("bash", "native/install-native-libs.sh"));

Task("__InstallDatasets")
    .Description("Installs the demo's data sets (Fashion-MNIST) from Debian (idempotent; fast when present).")
    .Does(() => Run("bash", "native/install-datasets.sh"));

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
    .Description("Installs the native libraries and data sets, builds, and runs the whole test suite with MKL, OpenBLAS and Fashion-MNIST required.")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("__InstallDatasets")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // The native libraries and data sets were just installed: their tests must run (fail, not skip).
        var env = new Dictionary<string, string> { ["CURVATURE_REQUIRE_NATIVE"] = "1", ["CURVATURE_REQUIRE_DATASETS"] = "1" };

        // The reference cases on every backend, one line per case, so the log shows MKL and OpenBLAS at work
        // (the test suite runs the same checks again as tests).
        int conformanceFailures = 0;
        foreach (var backend in new[] { "managed", "openblas", "mkl" })
        {
            Information($"> conformance runner, backend {backend}");
            var settings = new ProcessSettings
            {
                Arguments = $"run -c {configuration} --no-build --project tests/Curvature.Conformance/Curvature.Conformance.csproj -- tests/data/reference --backend {backend}",
                WorkingDirectory = root,
            };
            if (StartProcess("dotnet", settings) != 0) conformanceFailures++;
        }

        // The same cases end to end through TorchSharp (model built from each case, a and g captured from libtorch);
        // this runner lives in the TorchSharp test project so that libtorch stays out of the other output folders.
        foreach (var backend in new[] { "managed", "openblas", "mkl" })
        {
            Information($"> conformance runner via torchsharp, backend {backend}");
            var settings = new ProcessSettings
            {
                Arguments = $"run -c {configuration} --no-build --project tests/Curvature.TorchSharp.Tests/Curvature.TorchSharp.Tests.csproj -- tests/data/reference --backend {backend} --via torchsharp",
                WorkingDirectory = root,
            };
            if (StartProcess("dotnet", settings) != 0) conformanceFailures++;
        }

        // The test suites (the TorchSharp bridge's in its own project); their counts are repeated as the last line ("N passed, M failed").
        int exit = 0, passed = 0, failed = 0, skipped = 0;
        foreach (var project in new[] { "tests/Curvature.Tests/Curvature.Tests.csproj", "tests/Curvature.TorchSharp.Tests/Curvature.TorchSharp.Tests.csproj" })
        {
            var testSettings = new ProcessSettings
            {
                Arguments = $"test --project {project} -c {configuration} --no-build",
                WorkingDirectory = root,
                EnvironmentVariables = env,
                RedirectStandardOutput = true,
            };
            Information($"> dotnet {testSettings.Arguments.Render()}");
            int projectExit = StartProcess("dotnet", testSettings, out IEnumerable<string> lines);
            int projectFailed = 0;
            foreach (var line in lines)
            {
                Console.WriteLine(line);
                var t = line.Trim();
                if (t.StartsWith("succeeded:")) passed += int.Parse(t.Substring(10).Trim());
                else if (t.StartsWith("failed:")) projectFailed += int.Parse(t.Substring(7).Trim());
                else if (t.StartsWith("skipped:")) skipped += int.Parse(t.Substring(8).Trim());
            }

            if (projectExit != 0 && projectFailed == 0) projectFailed = 1; // the runner failed without reporting a count
            failed += projectFailed;
            if (projectExit != 0) exit = projectExit;
        }

        Console.WriteLine($"Tests: {passed} passed, {failed} failed, {skipped} skipped");
        if (exit != 0 || conformanceFailures != 0)
        {
            throw new Exception($"Tests failed (test exit code {exit}, conformance backends failing: {conformanceFailures}).");
        }
    });

Task("Fuzz")
    .Description("Runs the property-based fuzz suite (tests/Curvature.Tests/Fuzz) for --fuzz-minutes (default 30) on every backend; --fuzz-seed replays a failure.")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("Build")
    .Does(() =>
    {
        var env = new Dictionary<string, string>
        {
            ["CURVATURE_REQUIRE_NATIVE"] = "1",
            ["CURVATURE_FUZZ_MINUTES"] = fuzzMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (fuzzSeed != "") env["CURVATURE_FUZZ_SEED"] = fuzzSeed;
        Run("dotnet", $"test --project tests/Curvature.Tests/Curvature.Tests.csproj -c {configuration} --no-build -- --filter-namespace Curvature.Tests.Fuzz --timeout {(int)Math.Ceiling(fuzzMinutes * 2 + 10)}m", env);
    });

Task("TestLong")
    .Description("The kernel tests' long mode (CURVATURE_LONG_TESTS=1): every divide-and-conquer spectrum at every large order, the kernel test classes at every vector width in child processes (several minutes).")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("Build")
    .Does(() => Run("dotnet", $"test --project tests/Curvature.Tests/Curvature.Tests.csproj -c {configuration} --no-build -- " +
        "--filter-class *TridiagonalDivideAndConquerTests --filter-class *VectorWidthTests",
        new Dictionary<string, string> { ["CURVATURE_LONG_TESTS"] = "1", ["CURVATURE_REQUIRE_NATIVE"] = "1" }));

Task("TestAot")
    .Description("Installs the NativeAOT toolchain (clang, zlib) and runs the NativeAOT test: tests/Curvature.AotProbe published twice (default and x86-64-v3 instruction sets) must compute what the JIT computes (a few minutes).")
    .IsDependentOn("Build")
    .Does(() =>
    {
        Run("bash", "tests/Curvature.AotProbe/install-toolchain.sh");
        Run("dotnet", $"test --project tests/Curvature.Tests/Curvature.Tests.csproj -c {configuration} --no-build -- --filter-class *NativeAotTests",
            new Dictionary<string, string> { ["CURVATURE_AOT_TEST"] = "1" });
    });

Task("Demo")
    .Description("Runs the demo (samples/Curvature.Demo): Fashion-MNIST autoencoder and CNN, SGD/Adam against K-FAC/EKFAC/AdaFisher on equal wall-clock budgets. Options: --demo-args=\"--budget 60 --json run.json\" (see the demo's --help).")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("__InstallDatasets")
    .IsDependentOn("Build")
    .Does(() => Run("dotnet", $"run -c {configuration} --no-build --project samples/Curvature.Demo/Curvature.Demo.csproj -- {demoArgs}"));

Task("DemoPeer")
    .Description("Times the demo's Adam step through TorchSharp against the same step in PyTorch (Debian python3-torch, benchmarks/peers/torch_fashion_mnist.py), alternating chunks in one run, and prints the ratio. Options: --demo-args=\"--threads 2 --compare-rounds 20\".")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("__InstallDatasets")
    .IsDependentOn("__InstallPeers")
    .IsDependentOn("Build")
    .Does(() => Run("dotnet", $"run -c {configuration} --no-build --project samples/Curvature.Demo/Curvature.Demo.csproj -- --compare-pytorch {demoArgs}"));

//////////////////////////////////////////////////////////////////////
// PACKAGES
//////////////////////////////////////////////////////////////////////

var packages = artifacts.Combine("packages");

Task("Pack")
    .Description("Packs every library under src/ (package + symbol package, validated) into artifacts/packages and runs " +
                 "'dotnet nuget verify --all' on each. Argument: --version-suffix=preview.1.")
    .IsDependentOn("__Restore")
    .Does(() =>
    {
        EnsureDirectoryExists(packages);
        CleanDirectory(packages);
        var suffix = versionSuffix != "" ? $" -p:VersionSuffix={versionSuffix}" : "";
        // Every project under src/ is a package (a new one is picked up without editing this file).
        foreach (var project in GetFiles("./src/*/*.csproj").OrderBy(p => p.FullPath))
        {
            // ContinuousIntegrationBuild: deterministic paths in the PDBs (Source Link maps them to the repository).
            // Package validation runs inside pack (EnablePackageValidation in src/Directory.Build.props).
            Run("dotnet", $"pack \"{project}\" -c {configuration} --no-restore -warnaserror -o \"{packages}\" -p:ContinuousIntegrationBuild=true{suffix}");
        }

        // Signature and content-hash check. The packages are not signed (signing happens when they are published, with
        // the publisher's certificate), so verify reports NU3004 "The package is not signed" and exits 1: that one code
        // is expected and accepted; any other error fails the task.
        var files = GetFiles($"{packages}/*.nupkg").Concat(GetFiles($"{packages}/*.snupkg")).OrderBy(f => f.FullPath).ToList();
        foreach (var file in files)
        {
            var settings = new ProcessSettings
            {
                Arguments = $"nuget verify --all \"{file}\"",
                WorkingDirectory = root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            Information($"> dotnet {settings.Arguments.Render()}");
            int exit = StartProcess("dotnet", settings, out IEnumerable<string> stdout, out IEnumerable<string> stderr);
            var lines = stdout.Concat(stderr).ToList();
            foreach (var line in lines) Console.WriteLine(line);
            var errors = lines.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) && !l.Contains("validation failed", StringComparison.OrdinalIgnoreCase)).ToList();
            bool onlyUnsigned = errors.Count > 0 && errors.All(l => l.Contains("NU3004"));
            if (exit != 0 && !onlyUnsigned)
            {
                throw new Exception($"'dotnet nuget verify --all {file.GetFilename()}' failed with exit code {exit}.");
            }

            Information(exit == 0 ? $"verify: {file.GetFilename()} OK" : $"verify: {file.GetFilename()} OK apart from NU3004 (not signed; expected for local builds)");
        }

        Information($"Pack: {files.Count} files in {packages}:");
        foreach (var file in files) Information($"  {file.GetFilename()} ({new System.IO.FileInfo(file.FullPath).Length:N0} bytes)");
    });

//////////////////////////////////////////////////////////////////////
// BENCHMARKS (Bench and its private tasks)
//////////////////////////////////////////////////////////////////////

var benchArtifacts = artifacts.Combine("bench");
var benchBaseline = benchArtifacts.Combine("baseline").CombineWithFilePath("blas_baseline");
var benchSizesOrDefault = benchSizes != "" ? benchSizes : (benchQuick ? "128" : "128,256,512,1024");
var benchOutput = benchOut != "" ? benchOut : (benchQuick ? benchArtifacts.Combine("quick-results").FullPath : "benchmarks/results");
var benchStopwatch = new System.Diagnostics.Stopwatch();
var benchFailures = new List<string>();
string interleavedCommand = null;
var interleavedLoad = new List<string>();

// The 1/5/15-minute load averages: the machine is shared, so every interleaved result records it.
string LoadAverage() => System.IO.File.Exists("/proc/loadavg") ? string.Join(", ", System.IO.File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

// Runs a step whose failure must not stop the benchmark pipeline (a missing peer, one failed case):
// the failure is reported at the end and noted in RESULTS.md.
void RunBenchStep(string what, string tool, string arguments, IDictionary<string, string> env = null)
{
    Information($"> {tool} {arguments}");
    var settings = new ProcessSettings { Arguments = arguments, WorkingDirectory = root };
    if (env != null) settings.EnvironmentVariables = env;
    int exit = StartProcess(tool, settings);
    if (exit != 0)
    {
        Warning($"{what} failed with exit code {exit}; continuing.");
        benchFailures.Add($"{what} failed (exit code {exit})");
    }
}

Task("__InstallPeers")
    .Description("Installs the PyTorch peer (Debian python3-torch) when apt has it; skips it otherwise.")
    .Does(() => Run("bash", "native/baseline/install-peers.sh"));

Task("__BuildBaseline")
    .Description("Builds the raw C BLAS/LAPACK baseline (C11, -O2, dlopen; no LAPACKE): the same work as the C# path, for absolute times.")
    .Does(() =>
    {
        EnsureDirectoryExists(benchBaseline.GetDirectory());
        Run("gcc", $"-std=c11 -O2 -Wall -Wextra -Werror -o \"{benchBaseline}\" native/baseline/blas_baseline.c -ldl -lm");
    });

Task("__RunBenchmarkDotNet")
    .Description("Builds the benchmarks in Release, checks the K-FAC workload against its oracle, runs BenchmarkDotNet.")
    .Does(() =>
    {
        // Stale reports of an earlier run must not leak into this run's table.
        EnsureDirectoryExists(benchArtifacts.Combine("results"));
        CleanDirectory(benchArtifacts.Combine("results"));
        Run("dotnet", $"build benchmarks/Curvature.Benchmarks/Curvature.Benchmarks.csproj -c Release -warnaserror");
        var exe = "benchmarks/Curvature.Benchmarks/bin/Release/net10.0/Curvature.Benchmarks.dll";
        var options = $"{(benchQuick ? "--quick " : "")}--sizes {benchSizesOrDefault}{(benchBackends != "" ? $" --backends {benchBackends}" : "")}";
        Run("dotnet", $"{exe} --verify {options}");
        RunBenchStep("BenchmarkDotNet", "dotnet", $"{exe} {options} --filter \"{benchFilter}\" --artifacts \"{benchArtifacts}\"");
        // Service-loop latency (issue #7): step-time percentiles, synchronous vs background inverse refresh (about 2 minutes; quick: seconds).
        RunBenchStep("Latency", "dotnet", $"{exe} --latency{(benchQuick ? " --quick" : "")}{(benchBackends != "" ? $" --backends {benchBackends}" : "")} --latency-out \"{System.IO.Path.Combine(benchOutput, "LATENCY.md")}\"");
    });

Task("__RunInterleaved")
    .Description("Curvature's calls against the bare routines of the same library handle: one process per provider, A/B interleaved, median of per-pair ratios.")
    .Does(() =>
    {
        benchStopwatch.Start();
        Run("dotnet", $"build benchmarks/Curvature.Benchmarks/Curvature.Benchmarks.csproj -c Release -warnaserror");
        var exe = "benchmarks/Curvature.Benchmarks/bin/Release/net10.0/Curvature.Benchmarks.dll";
        var sizes = benchInterleavedSizes != "" ? benchInterleavedSizes : (benchQuick ? "128" : "256,512,1024");
        var options = $"--interleaved --sizes {sizes}{(benchBackends != "" ? $" --backends {benchBackends}" : "")}{(benchQuick ? " --seconds 0.2 --warmup-seconds 0.2" : "")}";
        interleavedCommand = $"dotnet {exe} {options}";
        interleavedLoad.Add($"Machine load (uptime) before: {LoadAverage()}");
        RunBenchStep("Interleaved A/B", "dotnet", $"{exe} {options} --interleaved-out \"{benchArtifacts.CombineWithFilePath("interleaved.csv")}\"");
        interleavedLoad.Add($"Machine load (uptime) after: {LoadAverage()}");
    });

Task("__RunBaseline")
    .Description("Times the same kernels and K-FAC step on OpenBLAS and MKL called directly from C.")
    .IsDependentOn("__BuildBaseline")
    .Does(() =>
    {
        foreach (var library in new[] { "openblas", "mkl" })
        {
            RunBenchStep($"C baseline ({library})", benchBaseline.FullPath,
                $"{library} \"{benchArtifacts.CombineWithFilePath($"baseline-{library}.csv")}\" --sizes {benchSizesOrDefault} --threads 1,2{(benchQuick ? " --quick" : "")}");
        }
    });

Task("__RunPeers")
    .Description("Times the same kernels and K-FAC step with PyTorch CPU (skipped when torch is not importable).")
    .Does(() =>
    {
        RunBenchStep("PyTorch peer", "/usr/bin/python3",
            $"native/baseline/torch_bench.py \"{benchArtifacts.CombineWithFilePath("torch.csv")}\" --sizes {benchSizesOrDefault} --threads 1,2{(benchQuick ? " --quick" : "")}");
    });

Task("__BenchReport")
    .Description("Writes RESULTS.md (medians and ratios) and the time-vs-n chart.")
    .Does(() =>
    {
        var csv = string.Join(" ", new[] { "baseline-openblas.csv", "baseline-mkl.csv", "torch.csv" }
            .Select(f => $"--csv \"{benchArtifacts.CombineWithFilePath(f)}\""));
        var notes = string.Concat(benchFailures.Select(f => $" --note \"{f}.\""));
        if (benchQuick) notes += " --note \"Quick (smoke-test) run: short job, few iterations; not for comparison.\"";
        var interleaved = $" --interleaved \"{benchArtifacts.CombineWithFilePath("interleaved.csv")}\"" +
            (interleavedCommand != null ? $" --interleaved-command \"{interleavedCommand}\"" : "") +
            string.Concat(interleavedLoad.Select(l => $" --interleaved-note \"{l}\""));
        Run("dotnet", $"run -c Release --project benchmarks/Curvature.Benchmarks.Report/Curvature.Benchmarks.Report.csproj -- " +
            $"--bdn \"{benchArtifacts.Combine("results")}\" {csv} --out \"{benchOutput}\"{notes}{interleaved}");
        benchStopwatch.Stop();
        Information($"Bench: measured and reported in {benchStopwatch.Elapsed:hh\\:mm\\:ss}; results in {benchOutput}/RESULTS.md");
        foreach (var failure in benchFailures) Warning($"Bench: {failure}");
    });

Task("Bench")
    .Description("Benchmarks: native libs + peers installed, C baseline built, interleaved A/B + BenchmarkDotNet + C baseline + PyTorch run, RESULTS.md written. " +
                 "Arguments: --bench-quick=true, --bench-filter=<glob>, --bench-sizes=128,256, --bench-interleaved-sizes=256,512,1024, --bench-backends=managed,openblas, --bench-out=<dir>.")
    .IsDependentOn("__InstallNative")
    .IsDependentOn("__InstallPeers")
    .IsDependentOn("__BuildBaseline")
    .IsDependentOn("__RunInterleaved")
    .IsDependentOn("__RunBenchmarkDotNet")
    .IsDependentOn("__RunBaseline")
    .IsDependentOn("__RunPeers")
    .IsDependentOn("__BenchReport");

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);
