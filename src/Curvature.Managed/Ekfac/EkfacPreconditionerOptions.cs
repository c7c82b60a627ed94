namespace Curvature.Ekfac;

/// <summary>Settings of <see cref="EkfacPreconditioner{T}"/> (George et al. 2018, Algorithm 1).</summary>
public sealed record EkfacPreconditionerOptions
{
    /// <summary>The largest batch <see cref="EkfacPreconditioner{T}.Update"/> accepts (workspaces are sized for it); ≥ 1.</summary>
    public required int MaxBatchSize { get; init; }

    /// <summary>T: the eigenbasis is recomputed from the running factors every T updates of a layer (the paper's <c>n</c>,
    /// EKFAC-pytorch's <c>update_freq</c>); ≥ 1.</summary>
    public int EigenbasisPeriod { get; init; } = 20;

    /// <summary>β of the factors' running average <c>A ← β A + (1 − β) XᵀX / N</c>; in [0, 1).</summary>
    public double FactorDecay { get; init; } = 0.95;

    /// <summary>α of the scalings' running average <c>s ← α s + (1 − α) Σ_n (Q_Gᵀ ∇_n Q_A)∘2 / N</c> (EKFAC-pytorch: 0.75); in [0, 1).</summary>
    public double ScalingDecay { get; init; } = 0.75;

    /// <summary>ε added to the scalings in the preconditioned step; &gt; 0.</summary>
    public double Damping { get; init; } = 1e-3;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSize, 1, nameof(MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(EigenbasisPeriod, 1, nameof(EigenbasisPeriod));
        if (!(FactorDecay >= 0 && FactorDecay < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(FactorDecay), FactorDecay, "The factor decay must be in [0, 1).");
        }

        if (!(ScalingDecay >= 0 && ScalingDecay < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ScalingDecay), ScalingDecay, "The scaling decay must be in [0, 1).");
        }

        if (!double.IsFinite(Damping) || Damping <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Damping), Damping, "The damping must be finite and positive.");
        }
    }
}
