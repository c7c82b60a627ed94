namespace Curvature.Native.Interop;

/// <summary>The CBLAS enumeration values (<c>cblas.h</c>), passed as <see cref="int"/> to keep signatures blittable.</summary>
internal static class Cblas
{
    // enum CBLAS_LAYOUT { CblasRowMajor = 101, CblasColMajor = 102 };
    public const int RowMajor = 101;

    // enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };
    public const int NoTrans = 111;
    public const int Trans = 112;

    // enum CBLAS_UPLO { CblasUpper = 121, CblasLower = 122 };
    public const int Upper = 121;
    public const int Lower = 122;

    // enum CBLAS_DIAG { CblasNonUnit = 131, CblasUnit = 132 };
    public const int NonUnit = 131;

    // enum CBLAS_SIDE { CblasLeft = 141, CblasRight = 142 };
    public const int Left = 141;
}
