namespace Curvature.Kfac;

/// <summary>Where <see cref="KfacLayerPreconditioner{T}"/> recomputes its damped inverses.</summary>
public enum KfacInverseRefresh
{
    /// <summary>On the caller's thread, inside the call that finds them due (the step that refreshes is slow).</summary>
    Synchronous = 0,

    /// <summary>
    /// On a dedicated background thread from a snapshot of the factors taken when the refresh becomes due; the finished
    /// inverse is swapped in at the caller's next call, so steps use the latest complete inverse (possibly a few updates
    /// stale) and never wait, except for the very first inverse.
    /// </summary>
    Background = 1,
}
