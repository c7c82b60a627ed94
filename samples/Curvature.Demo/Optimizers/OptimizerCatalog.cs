namespace Curvature.Demo.Optimizers;

/// <summary>Every optimizer the demo knows, in table order: the first-order baselines, then Curvature's methods.</summary>
public static class OptimizerCatalog
{
    /// <summary>All definitions, available or not.</summary>
    public static IReadOnlyList<OptimizerDefinition> All { get; } =
    [
        new("sgd", "SGD+momentum", setup => new SgdMomentumOptimizer(setup.LearningRate, momentum: 0.9)),
        new("adam", "Adam", setup => new AdamOptimizer(setup.LearningRate)),

        // Curvature's optimizers: see CurvatureOptimizers.cs, the one place where they are wired in.
        new("kfac", "K-FAC", CurvatureOptimizers.Kfac, CurvatureOptimizers.NotWiredYet("K-FAC")),
        new("ekfac", "EKFAC", CurvatureOptimizers.Ekfac, CurvatureOptimizers.NotWiredYet("EKFAC")),
        new("adafisher", "AdaFisher", CurvatureOptimizers.AdaFisher, CurvatureOptimizers.NotWiredYet("AdaFisher")),
    ];

    /// <summary>The keys the demo runs when <c>--optimizers</c> is not given: every available one.</summary>
    public static IReadOnlyList<string> DefaultKeys => All.Where(d => d.IsAvailable).Select(d => d.Key).ToArray();

    /// <summary>Finds a definition by key (case-insensitive).</summary>
    public static OptimizerDefinition? Find(string key) =>
        All.FirstOrDefault(d => string.Equals(d.Key, key, StringComparison.OrdinalIgnoreCase));
}
