using System.Numerics;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.TestKit;

/// <summary>Small helpers shared by the bridge tests.</summary>
public static class Torch
{
    public static ScalarType TypeOf<T>() => typeof(T) == typeof(float) ? ScalarType.Float32 : ScalarType.Float64;

    /// <summary>Relative tolerance for comparing two computations of the same quantity.</summary>
    public static double Tolerance<T>() => typeof(T) == typeof(float) ? 2e-5 : 1e-12;

    public static T[] Values<T>(Tensor t)
        where T : unmanaged
    {
        using var c = t.detach().contiguous();
        return c.data<T>().ToArray();
    }

    public static double[] Doubles<T>(Tensor t)
        where T : unmanaged, IFloatingPointIeee754<T> => [.. Values<T>(t).Select(double.CreateChecked)];

    /// <summary>Asserts <c>max|actual − expected| ≤ tol · max(max|expected|, 1e-30)</c>.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double diff = 0, scale = 1e-30;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }

        Assert.True(diff <= tolerance * scale, $"{what}: max difference {diff:e3} (relative {diff / scale:e3} > {tolerance:e1})");
    }

    public static void AssertClose<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double tolerance, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var e = new double[expected.Length];
        var a = new double[actual.Length];
        for (int i = 0; i < e.Length; i++)
        {
            e[i] = double.CreateChecked(expected[i]);
        }

        for (int i = 0; i < a.Length; i++)
        {
            a[i] = double.CreateChecked(actual[i]);
        }

        AssertClose(e, a, tolerance, what);
    }
}
