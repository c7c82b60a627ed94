namespace Curvature.Demo.Cli;

/// <summary>A bad command line or environment: the demo prints the message and exits with code 2.</summary>
public sealed class DemoUsageException(string message) : Exception(message);
