using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Curvature.Serialization;

/// <summary>
/// Writes Curvature's versioned, checksummed binary checkpoint format: a header (magic <c>CRVT</c>, format
/// version, the object kind and its own schema version), a sequence of named, typed entries, and a CRC-32 of
/// everything before it. Entries are buffered and the stream is written only by <see cref="Complete"/>, so a
/// failure while gathering state writes nothing.
/// </summary>
/// <remarks>Layout (little-endian): <c>"CRVT" u16 formatVersion, string kind, i32 schemaVersion, i64 payloadLength,
/// payload, u32 crc32(header + payload)</c>; each entry is <c>string name, u8 tag, value</c>. Strings are
/// u16-length-prefixed UTF-8. The reader is <see cref="CheckpointReader"/>.</remarks>
public sealed class CheckpointWriter
{
    internal const uint Magic = 0x54565243; // "CRVT"
    internal const ushort FormatVersion = 1;

    private readonly Stream _destination;
    private readonly string _kind;
    private readonly int _schemaVersion;
    private readonly MemoryStream _payload = new();
    private readonly BinaryWriter _writer;
    private bool _completed;

    /// <summary>Starts a checkpoint of <paramref name="kind"/> (e.g. <c>"Curvature.Kfac"</c>) at <paramref name="schemaVersion"/>.</summary>
    public CheckpointWriter(Stream destination, string kind, int schemaVersion)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The stream is not writable.", nameof(destination));
        }

        _destination = destination;
        _kind = kind;
        _schemaVersion = schemaVersion;
        _writer = new BinaryWriter(_payload, Encoding.UTF8, leaveOpen: true);
    }

    /// <summary>Writes a 32-bit integer entry.</summary>
    public void WriteInt32(string name, int value) { Begin(name, EntryTag.Int32); _writer.Write(value); }

    /// <summary>Writes a 64-bit integer entry.</summary>
    public void WriteInt64(string name, long value) { Begin(name, EntryTag.Int64); _writer.Write(value); }

    /// <summary>Writes a double entry.</summary>
    public void WriteDouble(string name, double value) { Begin(name, EntryTag.Double); _writer.Write(value); }

    /// <summary>Writes a boolean entry.</summary>
    public void WriteBoolean(string name, bool value) { Begin(name, EntryTag.Boolean); _writer.Write(value); }

    /// <summary>Writes a string entry.</summary>
    public void WriteString(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Begin(name, EntryTag.String);
        WriteShortString(_writer, value);
    }

    /// <summary>Writes an array of doubles.</summary>
    public void WriteDoubles(string name, ReadOnlySpan<double> values)
    {
        Begin(name, EntryTag.Doubles);
        _writer.Write(values.Length);
        _writer.Write(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Writes an array of floats.</summary>
    public void WriteSingles(string name, ReadOnlySpan<float> values)
    {
        Begin(name, EntryTag.Singles);
        _writer.Write(values.Length);
        _writer.Write(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Writes an array of 32-bit integers (e.g. a shape).</summary>
    public void WriteInt32s(string name, ReadOnlySpan<int> values)
    {
        Begin(name, EntryTag.Int32s);
        _writer.Write(values.Length);
        _writer.Write(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Writes an array of floating-point values of type <typeparamref name="T"/> (float or double).</summary>
    public void WriteValues<T>(string name, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        if (typeof(T) == typeof(double))
        {
            WriteDoubles(name, MemoryMarshal.Cast<T, double>(values));
        }
        else if (typeof(T) == typeof(float))
        {
            WriteSingles(name, MemoryMarshal.Cast<T, float>(values));
        }
        else
        {
            throw new NotSupportedException($"Checkpoints store float and double values, not {typeof(T).Name}.");
        }
    }

    /// <summary>Writes header, payload and checksum to the stream. Call once, after the last entry.</summary>
    public void Complete()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The checkpoint was already written.");
        }

        _completed = true;
        _writer.Flush();
        using var header = new MemoryStream();
        using (var hw = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
        {
            hw.Write(Magic);
            hw.Write(FormatVersion);
            WriteShortString(hw, _kind);
            hw.Write(_schemaVersion);
            hw.Write(_payload.Length);
        }

        var crc = new Crc32();
        crc.Append(header.GetBuffer().AsSpan(0, (int)header.Length));
        crc.Append(_payload.GetBuffer().AsSpan(0, (int)_payload.Length));
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, crc.GetCurrentHashAsUInt32());
        _destination.Write(header.GetBuffer(), 0, (int)header.Length);
        _destination.Write(_payload.GetBuffer(), 0, (int)_payload.Length);
        _destination.Write(tail);
        _destination.Flush();
    }

    internal static void WriteShortString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ArgumentException("A checkpoint string is limited to 65535 UTF-8 bytes.", nameof(s));
        }

        w.Write((ushort)bytes.Length);
        w.Write(bytes);
    }

    private void Begin(string name, EntryTag tag)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_completed)
        {
            throw new InvalidOperationException("The checkpoint was already written.");
        }

        WriteShortString(_writer, name);
        _writer.Write((byte)tag);
    }
}

/// <summary>Type tags of checkpoint entries.</summary>
internal enum EntryTag : byte
{
    Int32 = 1,
    Int64 = 2,
    Double = 3,
    Boolean = 4,
    String = 5,
    Doubles = 6,
    Singles = 7,
    Int32s = 8,
}
