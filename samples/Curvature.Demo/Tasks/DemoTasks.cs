namespace Curvature.Demo.Tasks;

/// <summary>The demo's tasks, in the order they run.</summary>
public static class DemoTasks
{
    /// <summary>Every task.</summary>
    public static IReadOnlyList<DemoTask> All { get; } = [new AutoencoderTask(), new CnnTask()];

    /// <summary>Finds a task by key (case-insensitive).</summary>
    public static DemoTask? Find(string key) =>
        All.FirstOrDefault(t => string.Equals(t.Key, key, StringComparison.OrdinalIgnoreCase));
}
