namespace Curvature.Demo.Training;

/// <summary>Where the demo ran: for the table footer and the JSON file.</summary>
/// <param name="Backend">The Curvature backend's description.</param>
/// <param name="BackendName">The Curvature backend's short name.</param>
/// <param name="Torch">TorchSharp and libtorch, e.g. <c>TorchSharp 0.107.0, libtorch CPU</c>.</param>
/// <param name="Threads">Threads of libtorch's intra-op pool and of the Curvature backend.</param>
/// <param name="ProcessorCount">Logical processors of the machine.</param>
/// <param name="LoadAverageBefore">The 1/5/15-minute load averages before the runs (empty when unknown).</param>
public sealed record RunEnvironment(string Backend, string BackendName, string Torch, int Threads, int ProcessorCount, IReadOnlyList<double> LoadAverageBefore)
{
    /// <summary>The 1/5/15-minute load averages now (empty where <c>/proc/loadavg</c> does not exist).</summary>
    public static IReadOnlyList<double> LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg")
                ? [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture))]
                : [];
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
