using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Kfac;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>A background refresh thread does not outlive a preconditioner nobody references, even without Dispose.</summary>
[Collection(ThreadCountCollection.Name)]
public class BackgroundWorkerLifetimeTests
{
    [Fact]
    public void DroppedWithoutDispose_200Owners_ThreadCountReturnsToBaseline()
    {
        Settle();
        int baseline = ThreadCount();
        int peak = CreateAndDrop(200);
        Assert.True(peak >= baseline + 150, $"the refresh threads did not start (baseline {baseline}, peak {peak})");

        int now = int.MaxValue;
        for (int attempt = 0; attempt < 100 && now > baseline + 10; attempt++)
        {
            Settle();
            Thread.Sleep(100);
            now = ThreadCount();
        }

        Assert.True(now <= baseline + 10, $"threads: baseline {baseline}, with 200 owners {peak}, after dropping them {now}");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int CreateAndDrop(int count)
    {
        var options = new KfacPreconditionerOptions { InverseRefresh = KfacInverseRefresh.Background, InverseUpdatePeriod = 1, Damping = 0.1 };
        var owners = new List<KfacLayerPreconditioner<double>>();
        var a = new double[,] { { 1, 2, 3 }, { 0, 1, 0 } };
        var g = new double[,] { { 1, 0 }, { 0.5, 1 } };
        for (int i = 0; i < count; i++)
        {
            var p = new KfacLayerPreconditioner<double>(ManagedBackend.Shared, 3, 2, options);
            p.Update(new ReadOnlySpan2D<double>(a), new ReadOnlySpan2D<double>(g)); // starts the worker thread
            owners.Add(p);
        }

        int peak = ThreadCount();
        GC.KeepAlive(owners);
        return peak;
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>The OS thread count of this process (<c>/proc/self/status</c> on Linux).</summary>
    internal static int ThreadCount()
    {
        if (OperatingSystem.IsLinux())
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    return int.Parse(line.AsSpan(8).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.Threads.Count;
    }
}

/// <summary>Tests that count the process's threads run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreadCountCollection
{
    public const string Name = "Thread count";
}
