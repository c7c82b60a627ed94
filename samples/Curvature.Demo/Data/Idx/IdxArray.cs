using System.Buffers.Binary;

namespace Curvature.Demo.Data.Idx;

/// <summary>
/// The contents of one IDX file: element type, dimensions (outermost first) and the elements in row-major
/// order exactly as stored (multi-byte types big-endian).
/// </summary>
public sealed class IdxArray
{
    private readonly int[] _dimensions;
    private readonly byte[] _payload;

    internal IdxArray(IdxDataType dataType, int[] dimensions, byte[] payload)
    {
        DataType = dataType;
        _dimensions = dimensions;
        _payload = payload;
        ElementCount = payload.Length / dataType.ElementSize();
    }

    /// <summary>Element type.</summary>
    public IdxDataType DataType { get; }

    /// <summary>Dimensions, outermost first (for images: count, rows, columns).</summary>
    public IReadOnlyList<int> Dimensions => _dimensions;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dimensions.Length;

    /// <summary>Number of elements (the product of the dimensions).</summary>
    public int ElementCount { get; }

    /// <summary>The stored bytes, row-major; multi-byte elements big-endian.</summary>
    public ReadOnlySpan<byte> RawBytes => _payload;

    /// <summary>The elements of an <see cref="IdxDataType.UnsignedByte"/> file.</summary>
    /// <exception cref="InvalidOperationException">The file holds another element type.</exception>
    public ReadOnlySpan<byte> UnsignedBytes => DataType == IdxDataType.UnsignedByte
        ? _payload
        : throw new InvalidOperationException($"The IDX array holds {DataType}, not {IdxDataType.UnsignedByte}.");

    /// <summary>All elements converted to <see cref="float"/> (Float64 and large Int32 values are rounded).</summary>
    public float[] ToSingles()
    {
        var result = new float[ElementCount];
        ReadOnlySpan<byte> p = _payload;
        switch (DataType)
        {
            case IdxDataType.UnsignedByte:
                for (int i = 0; i < result.Length; i++) result[i] = p[i];
                break;
            case IdxDataType.SignedByte:
                for (int i = 0; i < result.Length; i++) result[i] = (sbyte)p[i];
                break;
            case IdxDataType.Int16:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt16BigEndian(p[(2 * i)..]);
                break;
            case IdxDataType.Int32:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32BigEndian(p[(4 * i)..]);
                break;
            case IdxDataType.Float32:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleBigEndian(p[(4 * i)..]);
                break;
            case IdxDataType.Float64:
                for (int i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadDoubleBigEndian(p[(8 * i)..]);
                break;
        }

        return result;
    }
}
