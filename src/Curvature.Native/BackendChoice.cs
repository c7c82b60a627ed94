namespace Curvature.Native;

/// <summary>Which backend <see cref="BackendSelector"/> creates (also the values of <c>CURVATURE_BACKEND</c>).</summary>
public enum BackendChoice
{
    /// <summary>The fastest native library available on this CPU, then the other one, then managed.</summary>
    Auto = 0,

    /// <summary>OpenBLAS (fails if it cannot be loaded).</summary>
    OpenBlas = 1,

    /// <summary>Intel MKL through mkl_rt (fails if it cannot be loaded).</summary>
    Mkl = 2,

    /// <summary>The pure-managed backend.</summary>
    Managed = 3,
}
