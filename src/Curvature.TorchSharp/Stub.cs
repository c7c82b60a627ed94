namespace Curvature.TorchSharp;

/// <summary>x</summary>
public static class Stub
{
}
