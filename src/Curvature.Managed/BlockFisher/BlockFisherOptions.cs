namespace Curvature.BlockFisher;

/// <summary>Configuration of <see cref="BlockDiagonalFisher{T}"/>.</summary>
public sealed record BlockFisherOptions
{
    /// <summary>Coordinates per dense block (default 64).</summary>
    public int BlockSize { get; init; } = 64;

    /// <summary>
    /// Maximum number of dense blocks (default 1000). Coordinates beyond <c>MaxBlocks·BlockSize</c> are not covered by a
    /// dense block; they get a diagonal empirical Fisher (the EMA of the squared gradient entries) with the same damping.
    /// </summary>
    public int MaxBlocks { get; init; } = 1000;

    /// <summary>EMA decay γ: <c>F ← γ·F + (1 − γ)·F̂</c>; the first update stores <c>F̂</c> (default 0.95).</summary>
    public double Decay { get; init; } = 0.95;

    /// <summary>Tikhonov damping λ &gt; 0: blocks are factored as <c>F + λ·I</c> (default 1e-6).</summary>
    public double Damping { get; init; } = 1e-6;

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range or not finite.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxBlocks, nameof(MaxBlocks));
        if (!double.IsFinite(Decay) || Decay is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Decay), Decay, "The decay must lie in [0, 1).");
        }

        if (!double.IsFinite(Damping) || Damping <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Damping), Damping, "The damping must be positive and finite.");
        }
    }
}
