using System.Globalization;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text;
using System.Xml.Linq;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: packed from this build, restored from a local folder only, used by a small console
/// program on every backend; its numbers are checked against a float64 computation made here. Also checks what the
/// packages carry (metadata, README, symbols with Source Link, exact dependency between Curvature packages).
/// </summary>
public sealed class PackageConsumptionTests(PackedConsumer consumer, ITestOutputHelper output) : IClassFixture<PackedConsumer>
{
    private const string RepositoryUrl = "https://github.com/curvature-dotnet/curvature";

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void ConsumerProgram_OnEveryBackend_MatchesFloat64(string backend)
    {
        _ = TestBackends.Get(backend); // skips when the native library is missing and not required
        var built = consumer.Get();
        foreach (var (stage, elapsed) in built.Timings)
        {
            output.WriteLine($"{stage}: {elapsed.TotalSeconds:F1} s");
        }

        output.WriteLine($"pack + restore + build: {built.Total.TotalSeconds:F1} s");
        var run = DotnetCli.Run([built.Program], consumer.App, new Dictionary<string, string?> { ["CURVATURE_BACKEND"] = backend })
            .EnsureSuccess($"consumer on {backend}");
        output.WriteLine($"run: {run.Elapsed.TotalSeconds:F1} s");
        var lines = Parse(run.Output);

        Assert.Equal(backend, lines["backend"].Single());
        var shape = lines["shape"].Select(int.Parse).ToArray();
        int n = shape[0], dIn = shape[1], dOut = shape[2], cols = dIn + 1, d = dOut * cols;
        double damping = Number(lines["damping"].Single()), shift = Number(lines["shift"].Single());
        double[] input = Numbers(lines["input"]), gradients = Numbers(lines["gradients"]), v = Numbers(lines["v"]);

        // Empirical Fisher of a summed loss: A = Σ_n x̃ x̃ᵀ / N with x̃ = [x, 1], G = Σ_n g gᵀ; K = G ⊗ A on V = [W | b].
        var a = new double[cols, cols];
        var g = new double[dOut, dOut];
        for (int e = 0; e < n; e++)
        {
            for (int i = 0; i < cols; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    a[i, j] += X(e, i) * X(e, j) / n;
                }
            }

            for (int i = 0; i < dOut; i++)
            {
                for (int j = 0; j < dOut; j++)
                {
                    g[i, j] += gradients[(e * dOut) + i] * gradients[(e * dOut) + j];
                }
            }
        }

        double X(int e, int i) => i < dIn ? input[(e * dIn) + i] : 1;

        // Parameter order: weight (row-major D_out × D_in), then bias; V[r, c] is entry (r, c) of [W | b].
        int Flat(int r, int c) => c < dIn ? (r * dIn) + c : (dOut * dIn) + r;
        var k = new double[d, d];
        var kron = Kfac.DenseOracle.Kron(g, a);
        for (int p = 0; p < d; p++)
        {
            for (int q = 0; q < d; q++)
            {
                k[Flat(p / cols, p % cols), Flat(q / cols, q % cols)] = kron[p, q];
            }
        }

        var inverseKron = Kfac.DenseOracle.Kron(Kfac.DenseOracle.Inverse(Kfac.DenseOracle.AddIdentity(g, damping)), Kfac.DenseOracle.Inverse(Kfac.DenseOracle.AddIdentity(a, damping)));
        var inverse = new double[d, d];
        for (int p = 0; p < d; p++)
        {
            for (int q = 0; q < d; q++)
            {
                inverse[Flat(p / cols, p % cols), Flat(q / cols, q % cols)] = inverseKron[p, q];
            }
        }

        var solution = MatVec(Kfac.DenseOracle.Inverse(Kfac.DenseOracle.AddIdentity(k, shift)), v);
        AssertClose(MatVec(k, v), Numbers(lines["fisher_v"]), 1e-12, "K v");
        AssertClose(MatVec(inverse, v), Numbers(lines["inverse_v"]), 1e-10, "(G + δI)⁻¹ ⊗ (A + δI)⁻¹ v");
        AssertClose(solution, Numbers(lines["cg_x"]), 1e-9, "CG solution of (K + λI) x = v");
        Assert.Equal("Converged", lines["cg"][0]);
        double trace = 0;
        for (int i = 0; i < d; i++)
        {
            trace += k[i, i];
        }

        Assert.Equal(trace, Number(lines["trace"].Single()), 1e-12 * Math.Abs(trace));
        AssertClose(MatVec(k, v), Numbers(lines["fisher_v_float32"]), 1e-5, "K v in float32");
        Assert.Equal("1", lines["inverse_refreshes"].Single()); // the metric reached the consumer's listener (one block)
    }

    [Fact]
    public void Packages_CarryMetadataReadmeSymbolsAndExactDependencies()
    {
        var built = consumer.Get();
        foreach (var project in RepositoryPaths.LibraryProjects())
        {
            string id = Path.GetFileNameWithoutExtension(project);
            string package = Path.Combine(consumer.Feed, $"{id}.{built.Version}.nupkg");
            string symbols = Path.Combine(consumer.Feed, $"{id}.{built.Version}.snupkg");
            Assert.True(File.Exists(package), $"missing {package}");
            Assert.True(File.Exists(symbols), $"missing {symbols}");

            using var zip = ZipFile.OpenRead(package);
            var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var meta = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("MIT", meta.Element(ns + "license")?.Value);
            Assert.Equal("expression", meta.Element(ns + "license")?.Attribute("type")?.Value);
            Assert.Equal("README.md", meta.Element(ns + "readme")?.Value);
            Assert.Equal("Curvature contributors", meta.Element(ns + "authors")?.Value);
            Assert.Contains("kfac", meta.Element(ns + "tags")?.Value ?? "");
            var repository = meta.Element(ns + "repository")!;
            Assert.Equal(RepositoryUrl, repository.Attribute("url")?.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
            Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "description")?.Value));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml"));

            // Every dependency on another Curvature package is pinned to this exact version.
            foreach (var dependency in meta.Descendants(ns + "dependency").Where(e => e.Attribute("id")!.Value.StartsWith("Curvature.", StringComparison.Ordinal)))
            {
                Assert.Equal($"[{built.Version}]", dependency.Attribute("version")?.Value);
            }

            string readme = new StreamReader(zip.GetEntry("README.md")!.Open()).ReadToEnd();
            Assert.StartsWith($"# {id}", readme);
            foreach (var needed in new[] { "apt-get install libopenblas0-pthread", "libmkl-rt", "dnf install", "brew install openblas", "Windows",
                "CURVATURE_BACKEND", "CURVATURE_NATIVE_LIBRARY", "curvature.inverse.refresh.duration", "Thread-safety" })
            {
                Assert.Contains(needed, readme);
            }

            // The symbols map the sources to the repository at the built commit (Source Link).
            using var symbolZip = ZipFile.OpenRead(symbols);
            using var pdb = new MemoryStream();
            symbolZip.GetEntry($"lib/net10.0/{id}.pdb")!.Open().CopyTo(pdb);
            pdb.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(pdb);
            var reader = provider.GetMetadataReader();
            var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
            string sourceLink = reader.CustomDebugInformation
                .Select(reader.GetCustomDebugInformation)
                .Where(c => reader.GetGuid(c.Kind) == sourceLinkKind)
                .Select(c => Encoding.UTF8.GetString(reader.GetBlobBytes(c.Value)))
                .Single();
            Assert.Contains($"https://raw.githubusercontent.com/curvature-dotnet/curvature/{repository.Attribute("commit")!.Value}/", sourceLink);
        }

        Assert.Contains(RepositoryPaths.LibraryProjects(), p => p.EndsWith("Curvature.Native.csproj", StringComparison.Ordinal));
        using var native = ZipFile.OpenRead(Path.Combine(consumer.Feed, $"Curvature.Native.{built.Version}.nupkg"));
        var nativeSpec = XDocument.Load(native.GetEntry("Curvature.Native.nuspec")!.Open());
        Assert.Contains(nativeSpec.Descendants().Where(e => e.Name.LocalName == "dependency"), e => e.Attribute("id")!.Value == "Curvature.Managed");
    }

    private static Dictionary<string, string[]> Parse(string text)
    {
        var result = new Dictionary<string, string[]>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0)
            {
                result[line[..colon]] = line[(colon + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        return result;
    }

    private static double Number(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    private static double[] Numbers(string[] s) => [.. s.Select(Number)];

    private static double[] MatVec(double[,] m, double[] v)
    {
        var r = new double[m.GetLength(0)];
        for (int i = 0; i < r.Length; i++)
        {
            for (int j = 0; j < v.Length; j++)
            {
                r[i] += m[i, j] * v[j];
            }
        }

        return r;
    }

    private static void AssertClose(double[] expected, double[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * scale, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {relative} × {scale:R})");
        }
    }
}
