namespace Curvature.Backends;

/// <summary>The implementation behind a <see cref="CurvatureBackend"/>.</summary>
public enum BackendKind
{
    /// <summary>Pure-managed kernels (no native code).</summary>
    Managed = 0,

    /// <summary>OpenBLAS through P/Invoke.</summary>
    OpenBlas = 1,

    /// <summary>Intel MKL (mkl_rt) through P/Invoke.</summary>
    Mkl = 2,
}
