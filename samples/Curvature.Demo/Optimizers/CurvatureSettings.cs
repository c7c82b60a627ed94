using Curvature.Demo.Tasks;
using Curvature.Optimizers;
using Curvature.TorchSharp;

namespace Curvature.Demo.Optimizers;

/// <summary>
/// THE ONE PLACE for the curvature optimizers' per-task settings. Every task uses the library's defaults (and the
/// bridge's default, the empirical Fisher) unless a case below says otherwise, with the reason next to it and in the
/// demo's README ("Curvature settings").
/// </summary>
public static class CurvatureSettings
{
    /// <summary>K-FAC's options for <paramref name="task"/>.</summary>
    public static KfacOptimizerOptions Kfac(DemoTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Key switch
        {
            _ => new KfacOptimizerOptions(),
        };
    }

    /// <summary>EKFAC's options for <paramref name="task"/>.</summary>
    public static EkfacOptimizerOptions Ekfac(DemoTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Key switch
        {
            _ => new EkfacOptimizerOptions(),
        };
    }

    /// <summary>AdaFisher's options for <paramref name="task"/>.</summary>
    public static AdaFisherOptimizerOptions AdaFisher(DemoTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Key switch
        {
            _ => new AdaFisherOptimizerOptions(),
        };
    }

    /// <summary>How the bridge attaches <paramref name="optimizer"/> (a catalog key) on <paramref name="task"/>: the Fisher it
    /// observes with and the bias blocks.</summary>
    public static TorchCurvatureOptions Bridge(DemoTask task, string optimizer)
    {
        ArgumentNullException.ThrowIfNull(task);
        return (task.Key, optimizer) switch
        {
            _ => new TorchCurvatureOptions(),
        };
    }
}
