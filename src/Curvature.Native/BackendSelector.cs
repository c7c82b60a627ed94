using Curvature.Backends;
using Curvature.Backends.Managed;

namespace Curvature.Native;

/// <summary>Creates backends by choice, by name or from the <c>CURVATURE_BACKEND</c> environment variable.</summary>
public static class BackendSelector
{
    /// <summary>The environment variable that selects a backend: <c>auto|openblas|mkl|managed</c>.</summary>
    public const string EnvironmentVariable = "CURVATURE_BACKEND";

    /// <summary>Parses <c>auto|openblas|mkl|managed</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not one of those.</exception>
    public static BackendChoice Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "auto" or "" => BackendChoice.Auto,
        "openblas" => BackendChoice.OpenBlas,
        "mkl" => BackendChoice.Mkl,
        "managed" => BackendChoice.Managed,
        _ => throw new ArgumentException($"Unknown backend '{name}': expected auto, openblas, mkl or managed.", nameof(name)),
    };

    /// <summary>Creates the chosen backend.</summary>
    /// <exception cref="BackendUnavailableException">A native backend was forced and its library cannot be loaded.</exception>
    public static CurvatureBackend Create(BackendChoice choice = BackendChoice.Auto) => choice switch
    {
        BackendChoice.Managed => new ManagedBackend(),
        BackendChoice.Auto => new ManagedBackend(),
        _ => throw new BackendUnavailableException($"The {choice} backend is not implemented yet."),
    };

    /// <summary>Creates the backend named by <c>CURVATURE_BACKEND</c> (auto when unset).</summary>
    public static CurvatureBackend FromEnvironment() =>
        Create(Parse(Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "auto"));
}
