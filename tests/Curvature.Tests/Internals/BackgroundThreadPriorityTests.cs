using Curvature.Internals;
using Xunit;

namespace Curvature.Tests.Internals;

/// <summary>The background refresh worker's priority really is lowered (on Linux: nice 19 for that thread only).</summary>
public class BackgroundThreadPriorityTests
{
    [Fact]
    public void LowersOnlyTheCallingThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("Linux only: the nice value is read from /proc.");
        }

        int before = Nice("self");
        int workerNice = int.MinValue;
        bool lowered = false;
        var t = new Thread(() =>
        {
            lowered = BackgroundThreadPriority.LowerCurrentThread();
            workerNice = Nice("thread-self");
        });
        t.Start();
        t.Join();

        Assert.True(lowered);
        Assert.Equal(19, workerNice);
        Assert.Equal(before, Nice("self")); // the process (main thread) keeps its priority
    }

    /// <summary>Field 19 of /proc/&lt;pid or tid&gt;/stat is the nice value.</summary>
    private static int Nice(string which)
    {
        string stat = File.ReadAllText($"/proc/{which}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture); // index 0 = field 3 (state), so field 19 = index 16
    }
}
