using System.Globalization;
using Curvature.Damping;
using Curvature.Loss;

namespace Curvature.Demo.Optimizers;

/// <summary>The demo's K-FAC / EKFAC hyper-parameters.</summary>
/// <param name="Damping">δ (K-FAC: per the <paramref name="DampingMode"/>; EKFAC: ε added to the scalings).</param>
/// <param name="InverseUpdatePeriod">T: steps between inverse (K-FAC) or eigenbasis (EKFAC) refreshes.</param>
/// <param name="DampingMode">How K-FAC damps the factors (ignored by EKFAC).</param>
/// <param name="EmaDecay">Weight of the old factors in their running average.</param>
/// <param name="Fisher">Which output vectors build G: Monte-Carlo (one sample) or empirical.</param>
public sealed record KfacSettings(
    double Damping,
    int InverseUpdatePeriod,
    DampingMode DampingMode = DampingMode.Heuristic,
    double EmaDecay = 0.95,
    FisherType Fisher = FisherType.MonteCarlo)
{
    internal string Describe(string fisher, bool withMode = true) => string.Create(
        CultureInfo.InvariantCulture,
        $"damping {Damping:g3}{(withMode ? $" ({ModeName})" : "")}, T {InverseUpdatePeriod}, {fisher}");

    private string ModeName => DampingMode switch
    {
        DampingMode.Heuristic => "π",
        DampingMode.TraceScaled => "trace-scaled",
        DampingMode.Exact => "exact",
        _ => "plain",
    };
}
