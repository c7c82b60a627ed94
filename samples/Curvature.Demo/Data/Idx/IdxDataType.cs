namespace Curvature.Demo.Data.Idx;

/// <summary>
/// Element type of an IDX file, as coded in the third byte of its magic number
/// (LeCun, Cortes and Burges, "The MNIST database of handwritten digits", file format section).
/// Multi-byte values are stored big-endian.
/// </summary>
public enum IdxDataType : byte
{
    /// <summary>Unsigned byte (0x08).</summary>
    UnsignedByte = 0x08,

    /// <summary>Signed byte (0x09).</summary>
    SignedByte = 0x09,

    /// <summary>Signed 16-bit integer (0x0B).</summary>
    Int16 = 0x0B,

    /// <summary>Signed 32-bit integer (0x0C).</summary>
    Int32 = 0x0C,

    /// <summary>32-bit IEEE float (0x0D).</summary>
    Float32 = 0x0D,

    /// <summary>64-bit IEEE float (0x0E).</summary>
    Float64 = 0x0E,
}

/// <summary>Sizes and names of the IDX element types.</summary>
public static class IdxDataTypes
{
    /// <summary>True for the six type codes the IDX format defines.</summary>
    public static bool IsDefined(byte code) => code is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E;

    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int ElementSize(this IdxDataType type) => type switch
    {
        IdxDataType.UnsignedByte or IdxDataType.SignedByte => 1,
        IdxDataType.Int16 => 2,
        IdxDataType.Int32 or IdxDataType.Float32 => 4,
        IdxDataType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not an IDX element type."),
    };
}
