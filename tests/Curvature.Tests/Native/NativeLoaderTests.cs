using Curvature.Backends;
using Curvature.Native;
using Curvature.Native.Internals;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Native;

/// <summary>Loading, selection, environment variables, <c>Describe()</c> and both providers in one process.</summary>
public class NativeLoaderTests
{
    public static TheoryData<string> NativeNames => new() { "openblas", "mkl" };

    [Fact]
    public void ExplicitPath_Missing_ThrowsListingThePathAndTheError()
    {
        const string Path = "/nonexistent/curvature-test/libopenblas.so.0";
        var e = Assert.Throws<BackendUnavailableException>(() => NativeBackend.Load(new NativeBackendOptions { LibraryPath = Path }));
        Assert.Contains("Tried:", e.Message);
        Assert.Contains(Path, e.Message);
        Assert.Contains("No such file", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ExplicitPath_NotALibrary_ThrowsWithTheLoaderError()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"curvature-not-a-library-{Guid.NewGuid():N}.so");
        File.WriteAllText(path, "this is not an ELF file");
        try
        {
            var e = Assert.Throws<BackendUnavailableException>(() => BackendSelector.Create(new NativeBackendOptions { LibraryPath = path }));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ExplicitPath_SomeOtherLibrary_IsRecognisedAsNeitherProvider()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("Uses glibc's libm.so.6.");
        }

        var e = Assert.Throws<BackendUnavailableException>(() => NativeBackend.Load(new NativeBackendOptions { LibraryPath = "libm.so.6" }));
        Assert.Contains("neither OpenBLAS", e.Message);
    }

    [Fact]
    public void ForcedProvider_WithMissingExplicitPath_ThrowsListingThePath()
    {
        const string Path = "/nonexistent/curvature-test/libmkl_rt.so";
        var e = Assert.Throws<BackendUnavailableException>(() => NativeBackend.Load(new NativeBackendOptions { Backend = BackendChoice.Mkl, LibraryPath = Path }));
        Assert.Contains(Path, e.Message);
        Assert.Contains("Tried:", e.Message);
    }

    [Fact]
    public void Load_RejectsManagedAndBadThreadCounts()
    {
        Assert.Throws<ArgumentException>(() => NativeBackend.Load(new NativeBackendOptions { Backend = BackendChoice.Managed }));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeBackend.Load(new NativeBackendOptions { ThreadCount = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BackendSelector.Create(new NativeBackendOptions { ThreadCount = -1 }));
    }

    [Fact]
    public void Candidates_IncludeTheDebianNames()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("Linux probe list.");
        }

        var openBlas = NativeLibraryLoader.Candidates(BackendKind.OpenBlas);
        var mkl = NativeLibraryLoader.Candidates(BackendKind.Mkl);
        Assert.Equal("libopenblas.so.0", openBlas[0]);
        Assert.Contains(openBlas, p => p.EndsWith("openblas-pthread/libopenblas.so.0", StringComparison.Ordinal));
        Assert.Equal("libmkl_rt.so", mkl[0]);
        Assert.Contains("libmkl_rt.so.2", mkl);
        Assert.Contains("libmkl_rt.so.1", mkl);
    }

    [Theory]
    [InlineData(null, BackendChoice.Auto)]
    [InlineData("", BackendChoice.Auto)]
    [InlineData("auto", BackendChoice.Auto)]
    [InlineData(" OpenBLAS ", BackendChoice.OpenBlas)]
    [InlineData("MKL", BackendChoice.Mkl)]
    [InlineData("managed", BackendChoice.Managed)]
    public void Environment_BackendVariable_IsParsed(string? value, BackendChoice expected)
    {
        var options = NativeBackendOptions.FromEnvironment(name => name == "CURVATURE_BACKEND" ? value : null);
        Assert.Equal(expected, options.Backend);
        Assert.Null(options.LibraryPath);
        Assert.Equal(1, options.ThreadCount);
    }

    [Fact]
    public void Environment_UnknownBackend_ThrowsNamingTheVariable()
    {
        var e = Assert.Throws<ArgumentException>(() => NativeBackendOptions.FromEnvironment(name => name == "CURVATURE_BACKEND" ? "cuda" : null));
        Assert.Contains("CURVATURE_BACKEND", e.Message);
        Assert.Contains("cuda", e.Message);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("   ", null)]
    [InlineData(" /opt/lib/libopenblas.so.0 ", "/opt/lib/libopenblas.so.0")]
    public void Environment_LibraryVariable_IsParsed(string? value, string? expected)
    {
        var options = NativeBackendOptions.FromEnvironment(name => name == "CURVATURE_NATIVE_LIBRARY" ? value : null);
        Assert.Equal(expected, options.LibraryPath);
        Assert.Equal("CURVATURE_NATIVE_LIBRARY", BackendSelector.LibraryPathEnvironmentVariable);
        Assert.Equal("CURVATURE_BACKEND", BackendSelector.EnvironmentVariable);
    }

    [Theory]
    [MemberData(nameof(NativeNames))]
    public void Describe_ReportsLibraryVersionThreadsAndReason(string name)
    {
        var backend = Assert.IsType<NativeBackend>(TestBackends.Get(name));
        string text = backend.Describe();
        Assert.Equal(name, backend.Name);
        Assert.Contains(backend.LibraryPath, text);
        Assert.Contains(name == "mkl" ? "Math Kernel Library" : "OpenBLAS", text);
        Assert.Contains(backend.Version, text);
        Assert.Contains(backend.LibraryFile, text);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(File.Exists(backend.LibraryFile), $"'{backend.LibraryFile}' is not the mapped library file.");
            Assert.Contains(name == "mkl" ? "mkl_rt" : "openblas", backend.LibraryFile);
        }

        Assert.Contains("threads = 1", text);
        Assert.Contains("requested explicitly", text);
        Assert.Equal(name == "mkl" ? BackendKind.Mkl : BackendKind.OpenBlas, backend.Kind);
    }

    [Fact]
    public void Mkl_UsesTheLp64SequentialConfiguration()
    {
        var backend = Assert.IsType<NativeBackend>(TestBackends.Get("mkl"));
        Assert.Contains("LP64", backend.Describe());
        Assert.Contains("sequential", backend.Describe());

        // The sequential layer runs every call on the calling thread, whatever count is requested.
        backend.SetThreadCount(2);
        Assert.Equal(1, backend.ThreadCount);
        backend.SetThreadCount(1);
    }

    [Fact]
    public void Auto_PrefersOpenBlasOnNonIntelCpus_AndSaysWhy()
    {
        TestBackends.Get("openblas");
        TestBackends.Get("mkl");
        var backend = Assert.IsType<NativeBackend>(BackendSelector.Create(BackendChoice.Auto));
        Assert.Equal(CpuVendor.IsIntel ? BackendKind.Mkl : BackendKind.OpenBlas, backend.Kind);
        Assert.Contains(CpuVendor.Name, backend.Describe());
        Assert.Contains("auto", backend.SelectionReason);
    }

    [Fact]
    public void ExplicitPath_SameLibraryUnderAnotherName_ReusesTheLoadedProvider()
    {
        var first = Assert.IsType<NativeBackend>(TestBackends.Get("openblas"));
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"))
        {
            Assert.Skip("Needs Debian's OpenBLAS layout.");
        }

        // The alternatives link and the real path are one library: dlopen returns the same handle.
        var again = NativeBackend.Load(new NativeBackendOptions
        {
            LibraryPath = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        });
        Assert.Equal(first.LibraryPath, again.LibraryPath);
        Assert.Contains("auto with an explicit library", again.SelectionReason);
    }

    [Fact]
    public void BothProviders_InOneProcess_GiveTheSameGemm()
    {
        var openBlas = TestBackends.Get("openblas");
        var mkl = TestBackends.Get("mkl");
        var rng = new Random(7);
        const int M = 37, N = 29, K = 45;
        var a = new PaddedMatrix<double>(M, K, 3).FillRandom(rng);
        var b = new PaddedMatrix<double>(N, K, 0).FillRandom(rng);
        var c1 = new PaddedMatrix<double>(M, N, 1);
        var c2 = new PaddedMatrix<double>(M, N, 1);
        openBlas.MatrixMultiply(a.ReadOnly, Transpose.None, b.ReadOnly, Transpose.Transpose, c1.Span, 1.0, 0.0);
        mkl.MatrixMultiply(a.ReadOnly, Transpose.None, b.ReadOnly, Transpose.Transpose, c2.Span, 1.0, 0.0);
        for (int i = 0; i < M; i++)
        {
            for (int j = 0; j < N; j++)
            {
                double exact = 0;
                for (int p = 0; p < K; p++)
                {
                    exact += a.At(i, p) * b.At(j, p);
                }

                Assert.Equal(exact, c1.At(i, j), 1e-12);
                Assert.Equal(c1.At(i, j), c2.At(i, j), 1e-12);
            }
        }

        Assert.NotEqual(((NativeBackend)openBlas).LibraryPath, ((NativeBackend)mkl).LibraryPath);
    }

    [Fact]
    public void OpenBlas_SetThreadCount_IsReportedBack()
    {
        var backend = TestBackends.Get("openblas");
        try
        {
            backend.SetThreadCount(2);
            Assert.Equal(2, backend.ThreadCount);
            Assert.Contains("threads = 2", backend.Describe());
        }
        finally
        {
            backend.SetThreadCount(1);
        }

        Assert.Equal(1, backend.ThreadCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.SetThreadCount(0));
    }

    [Theory]
    [MemberData(nameof(NativeNames))]
    public void SteadyState_AllocatesNothing(string name)
    {
        var backend = TestBackends.Get(name);
        const int N = 24;
        var rng = new Random(11);
        double[,] spd = DenseOracle.WellConditionedSpd<double>(N, rng);
        var a = new PaddedMatrix<double>(N, N, 1);
        var work = new PaddedMatrix<double>(N, N, 1);
        var c = new PaddedMatrix<double>(N, N, 1);
        var w = new double[N];
        var wf = new float[N];
        var af = new PaddedMatrix<float>(N, N, 0);

        void Run()
        {
            a.SetTriangle(spd, true);
            backend.SymmetricEigen(a.Span, Triangle.Lower, w);
            backend.MatrixMultiply(a.ReadOnly, Transpose.None, a.ReadOnly, Transpose.Transpose, c.Span, 1.0, 0.0);
            backend.SymmetricRankKUpdate(a.ReadOnly, RankKForm.TransposeTimesMatrix, c.Span, Triangle.Upper, 1.0, 0.0);
            work.SetTriangle(spd, true);
            backend.TryInvertPositiveDefinite(work.Span, Triangle.Lower);
            af.SetTriangle(spd, false);
            backend.SymmetricEigen(af.Span, Triangle.Upper, wf);
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            Run();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [MemberData(nameof(NativeNames))]
    public void ConcurrentEigen_OnSeveralThreads_UsesPerThreadWorkspaces(string name)
    {
        var backend = TestBackends.Get(name);
        var rng = new Random(13);
        int[] sizes = [5, 17, 40, 64];
        var matrices = sizes.Select(n => DenseOracle.WellConditionedSpd<double>(n, rng)).ToArray();
        var expected = new double[sizes.Length][];
        for (int s = 0; s < sizes.Length; s++)
        {
            var m = new PaddedMatrix<double>(sizes[s], sizes[s], 0).SetTriangle(matrices[s], true);
            expected[s] = new double[sizes[s]];
            backend.SymmetricEigen(m.Span, Triangle.Lower, expected[s]);
        }

        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 4 }, iteration =>
        {
            int s = iteration % sizes.Length;
            var m = new PaddedMatrix<double>(sizes[s], sizes[s], 1).SetTriangle(matrices[s], iteration % 2 == 0);
            var w = new double[sizes[s]];
            backend.SymmetricEigen(m.Span, iteration % 2 == 0 ? Triangle.Lower : Triangle.Upper, w);
            for (int j = 0; j < w.Length; j++)
            {
                Assert.Equal(expected[s][j], w[j], 1e-10);
            }
        });
    }
}
