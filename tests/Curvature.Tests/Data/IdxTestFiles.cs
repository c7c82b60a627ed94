using System.Buffers.Binary;
using System.IO.Compression;
using Curvature.Demo.Data.Idx;

namespace Curvature.Tests.Data;

/// <summary>Writes IDX files for the reader tests into a private temporary directory (deleted on dispose).</summary>
public sealed class IdxTestFiles : IDisposable
{
    public IdxTestFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "curvature-idx-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>The IDX bytes: magic <c>00 00 type rank</c>, big-endian dimensions, payload (written by the IDX format's definition).</summary>
    public static byte[] Encode(byte typeCode, uint[] dimensions, byte[] payload)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + payload.Length];
        bytes[2] = typeCode;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        payload.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    public static byte[] Encode(IdxDataType type, uint[] dimensions, byte[] payload) => Encode((byte)type, dimensions, payload);

    /// <summary>Big-endian bytes of <paramref name="values"/> stored as <paramref name="type"/>.</summary>
    public static byte[] Payload(IdxDataType type, double[] values)
    {
        int size = type.ElementSize();
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            var span = bytes.AsSpan(i * size, size);
            switch (type)
            {
                case IdxDataType.UnsignedByte: span[0] = checked((byte)values[i]); break;
                case IdxDataType.SignedByte: span[0] = unchecked((byte)checked((sbyte)values[i])); break;
                case IdxDataType.Int16: BinaryPrimitives.WriteInt16BigEndian(span, checked((short)values[i])); break;
                case IdxDataType.Int32: BinaryPrimitives.WriteInt32BigEndian(span, checked((int)values[i])); break;
                case IdxDataType.Float32: BinaryPrimitives.WriteSingleBigEndian(span, (float)values[i]); break;
                case IdxDataType.Float64: BinaryPrimitives.WriteDoubleBigEndian(span, values[i]); break;
            }
        }

        return bytes;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(content);
        return output.ToArray();
    }

    /// <summary>Writes <paramref name="content"/> (gzip-compressed when asked) and returns the path.</summary>
    public string Write(string name, byte[] content, bool gzip = false)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, gzip ? Gzip(content) : content);
        return path;
    }
}
