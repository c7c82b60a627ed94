namespace Curvature.Demo.Optimizers;

/// <summary>
/// THE PLUG-IN POINT for Curvature's optimizers (K-FAC, EKFAC, AdaFisher), attached to the task's TorchSharp model
/// through the TorchSharp bridge. Until the bridge's attach API is available the slots are empty and the demo lists
/// these methods as not wired in.
/// </summary>
public static class CurvatureMethod
{
    /// <summary>K-FAC (Martens &amp; Grosse 2015).</summary>
    public static Func<TrainingSetup, ITrainingMethod>? Kfac => null;

    /// <summary>EKFAC (George et al. 2018).</summary>
    public static Func<TrainingSetup, ITrainingMethod>? Ekfac => null;

    /// <summary>AdaFisher (Gomes et al. 2025).</summary>
    public static Func<TrainingSetup, ITrainingMethod>? AdaFisher => null;

    internal static string NotWiredYet(string method) =>
        $"{method} is not wired into the demo yet (it attaches through the TorchSharp bridge; see Optimizers/CurvatureMethod.cs).";
}
