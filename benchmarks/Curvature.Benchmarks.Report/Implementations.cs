namespace Curvature.Benchmarks.Report;

/// <summary>Names of the measured implementations and of the kernels, as they appear in the table and chart.</summary>
internal static class Implementations
{
    public const string COpenBlas = "c-openblas";
    public const string CMkl = "c-mkl";
    public const string CurvatureOpenBlas = "curvature-openblas";
    public const string CurvatureMkl = "curvature-mkl";
    public const string CurvatureManaged = "curvature-managed";
    public const string MathNet = "mathnet";
    public const string Torch = "torch";

    /// <summary>Display order and labels.</summary>
    public static readonly (string Key, string Label)[] All =
    [
        (COpenBlas, "OpenBLAS from C"),
        (CMkl, "MKL from C"),
        (CurvatureOpenBlas, "Curvature openblas"),
        (CurvatureMkl, "Curvature mkl"),
        (CurvatureManaged, "Curvature managed"),
        (MathNet, "Math.NET 5.0 managed"),
        (Torch, "PyTorch (Debian)"),
    ];

    /// <summary>Kernels in display order with their headings.</summary>
    public static readonly (string Key, string Title, bool Threaded)[] Kernels =
    [
        ("kfacstep", "K-FAC step (dense layer in = out = n, batch 256)", true),
        ("gemm", "GEMM (C = A·B, n × n)", true),
        ("syrk", "SYRK (lower(C) = AᵀA, A n × n)", false),
        ("cholinv", "Cholesky inverse (copy + POTRF + POTRI)", false),
        ("syevd", "SYEVD (eigenvalues + eigenvectors)", false),
    ];

    /// <summary>The label of an implementation key.</summary>
    public static string Label(string key) => All.FirstOrDefault(a => a.Key == key).Label ?? key;
}
