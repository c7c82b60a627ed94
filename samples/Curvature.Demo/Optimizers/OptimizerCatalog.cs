namespace Curvature.Demo.Optimizers;

/// <summary>Every optimizer the demo knows, in table order: the first-order baselines, then Curvature's methods.</summary>
public static class OptimizerCatalog
{
    /// <summary>All definitions, available or not.</summary>
    public static IReadOnlyList<OptimizerDefinition> All { get; } =
    [
        new("sgd", "SGD+momentum", TorchOptimizerMethod.Sgd),
        new("adam", "Adam", TorchOptimizerMethod.Adam),

        // Curvature's optimizers, attached through the TorchSharp bridge: see CurvatureMethod.cs.
        new("kfac", "K-FAC", CurvatureMethod.Kfac, CurvatureMethod.NotWiredYet("K-FAC")),
        new("ekfac", "EKFAC", CurvatureMethod.Ekfac, CurvatureMethod.NotWiredYet("EKFAC")),
        new("adafisher", "AdaFisher", CurvatureMethod.AdaFisher, CurvatureMethod.NotWiredYet("AdaFisher")),
    ];

    /// <summary>The keys the demo runs when <c>--optimizers</c> is not given: every available one.</summary>
    public static IReadOnlyList<string> DefaultKeys => [.. All.Where(d => d.IsAvailable).Select(d => d.Key)];

    /// <summary>Finds a definition by key (case-insensitive).</summary>
    public static OptimizerDefinition? Find(string key) =>
        All.FirstOrDefault(d => string.Equals(d.Key, key, StringComparison.OrdinalIgnoreCase));
}
