namespace Curvature;

/// <summary>A requested backend (native library) could not be loaded; the message lists what was tried.</summary>
public sealed class BackendUnavailableException : CurvatureException
{
    /// <summary>Creates the exception with a message that explains what was tried.</summary>
    public BackendUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the load failure that caused it.</summary>
    public BackendUnavailableException(string message, Exception? innerException) : base(message, innerException) { }
}
