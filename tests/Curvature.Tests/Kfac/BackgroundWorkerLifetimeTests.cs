using System.Runtime.CompilerServices;
using Curvature.Backends.Managed;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Xunit;

namespace Curvature.Tests.Kfac;

/// <summary>A background refresh thread does not outlive an optimizer nobody references, even without Dispose.</summary>
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
        var options = new KfacOptimizerOptions { Refresh = RefreshMode.Background, InverseUpdatePeriod = 1, Damping = 0.1 };
        var model = new ModelSpec([LayerSpec.Linear("fc", 3, 2, bias: false)]);
        var owners = new List<KfacOptimizer<double>>();
        double[] a = [1, 2, 3, 0, 1, 0], g = [1, 0, 0.5, 1];
        for (int i = 0; i < count; i++)
        {
            var values = new ParameterSet();
            values.Add("fc.weight", new double[6], 2, 3);
            var gradients = new ParameterSet();
            gradients.Add("fc.weight", new double[] { 0.1, 0, 0, 0, 0.1, 0 }, 2, 3);
            var p = new KfacOptimizer<double>(ManagedBackend.Shared, model, values, gradients, options);
            for (int step = 0; step < 2; step++)
            {
                p.Observe("fc", a, [2, 3], g, [1, 2, 2]);
                p.Step(1.0); // the second step starts the worker thread
            }

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
