namespace Curvature.Optimizers;

/// <summary>Where an optimizer recomputes its expensive curvature representations (K-FAC inverses, EKFAC eigenbases).</summary>
public enum RefreshMode
{
    /// <summary>On the caller's thread, inside the step that finds them due (that step is slower).</summary>
    Synchronous = 0,

    /// <summary>
    /// On a dedicated low-priority background thread per layer, from a snapshot of the statistics taken at the end of the
    /// step that finds a refresh due; the result is swapped in at the end of a later step, so steps use the latest complete
    /// representation (possibly a few steps stale) and never wait, except for the very first one. The optimizer must be
    /// disposed to stop the threads.
    /// </summary>
    Background = 1,
}
