using Curvature.Loss;

namespace Curvature.Demo.Optimizers;

/// <summary>The demo's per-task K-FAC / EKFAC settings (the rest are the library's defaults).</summary>
/// <param name="Damping">The initial damping λ (adapted by the library's Levenberg–Marquardt rule).</param>
/// <param name="RefreshPeriod">T: steps between inverse (K-FAC) or eigenbasis (EKFAC) refreshes.</param>
/// <param name="Fisher">Which output vectors build G: Monte-Carlo (one sample) or empirical.</param>
public sealed record KfacSettings(double Damping, int RefreshPeriod, FisherType Fisher = FisherType.MonteCarlo);
