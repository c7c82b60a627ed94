using Curvature.Native;

// Placeholder demo until the training demo lands: prints the backend in use.
var backend = BackendSelector.FromEnvironment();
Console.WriteLine($"Curvature backend: {backend.Describe()}");
