namespace Curvature;

/// <summary>Base class of the numerical and environment failures Curvature reports.</summary>
public class CurvatureException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public CurvatureException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CurvatureException(string message, Exception? innerException) : base(message, innerException) { }
}
