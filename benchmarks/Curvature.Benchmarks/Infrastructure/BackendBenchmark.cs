using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.Backends;

namespace Curvature.Benchmarks.Infrastructure;

/// <summary>
/// Base of the benchmarks that measure a <see cref="CurvatureBackend"/>: the <c>Backend</c> and <c>N</c> parameters
/// (from <see cref="BenchmarkSettings"/> and the backends that load on this machine).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract class BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The backends measured in this run (unavailable native backends are left out with a message).</summary>
    public static IEnumerable<string> Backends() => BenchmarkBackends.Available;

    /// <summary>The matrix orders measured in this run.</summary>
    public static IEnumerable<int> Sizes() => BenchmarkSettings.Sizes;

    /// <summary>The thread counts measured by the threaded benchmarks.</summary>
    public static IEnumerable<int> ThreadCounts() => BenchmarkSettings.Threads;

    /// <summary>The backend under test: <c>managed</c>, <c>openblas</c> or <c>mkl</c>.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>The matrix order.</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; } = 128;

    /// <summary>The backend created in <c>[GlobalSetup]</c>.</summary>
    protected CurvatureBackend Kernels { get; private set; } = null!;

    /// <summary>Creates the backend with the given number of threads per kernel call.</summary>
    protected void CreateBackend(int threads) => Kernels = BenchmarkBackends.Create(Backend, threads);
}
