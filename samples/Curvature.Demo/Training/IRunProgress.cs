namespace Curvature.Demo.Training;

/// <summary>Receives progress while one optimizer trains on one task.</summary>
public interface IRunProgress
{
    /// <summary>A run starts.</summary>
    void Start(string task, string optimizer, TrainingPlan plan);

    /// <summary>A step finished (called every step; implementations throttle their output).</summary>
    void Report(long step, double batchLoss, double seconds);

    /// <summary>The run finished.</summary>
    void Finish(RunResult result);
}
