namespace Curvature.Serialization;

/// <summary>A checkpoint stream is truncated, corrupted, of another kind or version, or does not match the object it is loaded into.</summary>
public sealed class CheckpointFormatException : CurvatureException
{
    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    public CheckpointFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying failure.</summary>
    public CheckpointFormatException(string message, Exception? innerException) : base(message, innerException) { }
}
