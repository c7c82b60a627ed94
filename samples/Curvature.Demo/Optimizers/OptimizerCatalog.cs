namespace Curvature.Demo.Optimizers;

/// <summary>Every optimizer the demo knows, in table order: the first-order baselines, then Curvature's methods.</summary>
public static class OptimizerCatalog
{
    /// <summary>All definitions.</summary>
    public static IReadOnlyList<OptimizerDefinition> All { get; } =
    [
        new("sgd", "SGD+momentum", TorchOptimizerMethod.Sgd),
        new("adam", "Adam", TorchOptimizerMethod.Adam),

        // Curvature's optimizers, attached through the TorchSharp bridge (CurvatureMethod.cs) with the settings of
        // CurvatureSettings.cs.
        new("kfac", "K-FAC", CurvatureMethod.Kfac),
        new("ekfac", "EKFAC", CurvatureMethod.Ekfac),
        new("adafisher", "AdaFisher", CurvatureMethod.AdaFisher),
    ];

    /// <summary>The keys the demo runs when <c>--optimizers</c> is not given: all of them.</summary>
    public static IReadOnlyList<string> DefaultKeys => [.. All.Select(d => d.Key)];

    /// <summary>Finds a definition by key (case-insensitive).</summary>
    public static OptimizerDefinition? Find(string key) =>
        All.FirstOrDefault(d => string.Equals(d.Key, key, StringComparison.OrdinalIgnoreCase));
}
