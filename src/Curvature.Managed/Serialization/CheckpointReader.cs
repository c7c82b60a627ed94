using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Curvature.Serialization;

/// <summary>
/// Reads a checkpoint written by <see cref="CheckpointWriter"/>. <see cref="Open"/> reads and verifies the whole
/// checkpoint (magic, versions, kind, length, CRC-32) before anything is returned, and never allocates much more than the
/// bytes the stream actually holds, whatever a corrupted length field claims; entries are then read in the
/// order they were written, each checked for name and type. Every problem raises
/// <see cref="CheckpointFormatException"/>, so callers can read everything into temporaries first and commit to
/// their state only when reading succeeded.
/// </summary>
public sealed class CheckpointReader
{
    private readonly BinaryReader _reader;
    private readonly long _length;

    private CheckpointReader(byte[] payload, string kind, int schemaVersion)
    {
        Kind = kind;
        SchemaVersion = schemaVersion;
        _length = payload.Length;
        _reader = new BinaryReader(new MemoryStream(payload, writable: false), Encoding.UTF8);
    }

    /// <summary>The object kind recorded in the header.</summary>
    public string Kind { get; }

    /// <summary>The schema version recorded in the header.</summary>
    public int SchemaVersion { get; }

    /// <summary>True when every entry has been read.</summary>
    public bool AtEnd => _reader.BaseStream.Position == _length;

    /// <summary>Reads and verifies a checkpoint of <paramref name="expectedKind"/> with a schema version in [1, <paramref name="maxSchemaVersion"/>].</summary>
    /// <exception cref="CheckpointFormatException">The stream is truncated, corrupted, or of another kind or version.</exception>
    public static CheckpointReader Open(Stream source, string expectedKind, int maxSchemaVersion)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            var br = new BinaryReader(source, Encoding.UTF8, leaveOpen: true);
            var headerBytes = new MemoryStream();
            var hw = new BinaryWriter(headerBytes);
            uint magic = br.ReadUInt32();
            if (magic != CheckpointWriter.Magic)
            {
                throw new CheckpointFormatException("Not a Curvature checkpoint (bad magic number).");
            }

            ushort format = br.ReadUInt16();
            if (format != CheckpointWriter.FormatVersion)
            {
                throw new CheckpointFormatException($"Unsupported checkpoint format version {format} (this build reads version {CheckpointWriter.FormatVersion}).");
            }

            ushort kindLength = br.ReadUInt16();
            byte[] kindBytes = ReadExactly(br, kindLength);
            string kind = Encoding.UTF8.GetString(kindBytes);
            int schema = br.ReadInt32();
            long payloadLength = br.ReadInt64();
            hw.Write(magic);
            hw.Write(format);
            hw.Write(kindLength);
            hw.Write(kindBytes);
            hw.Write(schema);
            hw.Write(payloadLength);
            hw.Flush();
            if (payloadLength < 0 || payloadLength > Array.MaxLength)
            {
                throw new CheckpointFormatException($"Corrupted checkpoint: invalid payload length {payloadLength}.");
            }

            byte[] payload = ReadPayload(source, (int)payloadLength);
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(ReadExactly(br, 4));
            var crc = new Crc32();
            crc.Append(headerBytes.GetBuffer().AsSpan(0, (int)headerBytes.Length));
            crc.Append(payload);
            if (crc.GetCurrentHashAsUInt32() != stored)
            {
                throw new CheckpointFormatException("Corrupted checkpoint: the CRC-32 checksum does not match.");
            }

            if (kind != expectedKind)
            {
                throw new CheckpointFormatException($"The checkpoint holds a '{kind}', not a '{expectedKind}'.");
            }

            if (schema < 1 || schema > maxSchemaVersion)
            {
                throw new CheckpointFormatException($"The '{kind}' checkpoint has schema version {schema}; this build reads versions 1 to {maxSchemaVersion}.");
            }

            return new CheckpointReader(payload, kind, schema);
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointFormatException("The checkpoint is truncated.", e);
        }
    }

    /// <summary>Reads a 32-bit integer entry named <paramref name="name"/>.</summary>
    public int ReadInt32(string name) { Expect(name, EntryTag.Int32); return Guard(() => _reader.ReadInt32()); }

    /// <summary>Reads a 64-bit integer entry.</summary>
    public long ReadInt64(string name) { Expect(name, EntryTag.Int64); return Guard(() => _reader.ReadInt64()); }

    /// <summary>Reads a double entry.</summary>
    public double ReadDouble(string name) { Expect(name, EntryTag.Double); return Guard(() => _reader.ReadDouble()); }

    /// <summary>Reads a boolean entry.</summary>
    public bool ReadBoolean(string name) { Expect(name, EntryTag.Boolean); return Guard(() => _reader.ReadBoolean()); }

    /// <summary>Reads a string entry.</summary>
    public string ReadString(string name) { Expect(name, EntryTag.String); return Guard(ReadShortString); }

    /// <summary>Reads an array of doubles.</summary>
    public double[] ReadDoubles(string name) { Expect(name, EntryTag.Doubles); return ReadArray<double>(); }

    /// <summary>Reads an array of floats.</summary>
    public float[] ReadSingles(string name) { Expect(name, EntryTag.Singles); return ReadArray<float>(); }

    /// <summary>Reads an array of 32-bit integers.</summary>
    public int[] ReadInt32s(string name) { Expect(name, EntryTag.Int32s); return ReadArray<int>(); }

    /// <summary>Reads an array of <typeparamref name="T"/> (float or double) written by <see cref="CheckpointWriter.WriteValues{T}"/>.</summary>
    public T[] ReadValues<T>(string name)
        where T : unmanaged
    {
        if (typeof(T) == typeof(double))
        {
            return (T[])(object)ReadDoubles(name);
        }

        if (typeof(T) == typeof(float))
        {
            return (T[])(object)ReadSingles(name);
        }

        throw new NotSupportedException($"Checkpoints store float and double values, not {typeof(T).Name}.");
    }

    /// <summary>Reads an array and checks its length.</summary>
    public T[] ReadValues<T>(string name, int expectedLength)
        where T : unmanaged
    {
        var values = ReadValues<T>(name);
        if (values.Length != expectedLength)
        {
            throw new CheckpointFormatException($"Checkpoint entry '{name}' has {values.Length} values; {expectedLength} were expected.");
        }

        return values;
    }

    /// <summary>Throws unless every entry has been read.</summary>
    public void EnsureAtEnd()
    {
        if (!AtEnd)
        {
            throw new CheckpointFormatException("The checkpoint holds more entries than expected.");
        }
    }

    /// <summary>
    /// Reads the payload whose length comes from the header, which the CRC has not vouched for yet: it is bounded by the
    /// bytes a seekable stream has left, and otherwise read in growing chunks, so a corrupted length costs at most about
    /// twice the bytes actually present, never the length it claims.
    /// </summary>
    private static byte[] ReadPayload(Stream source, int length)
    {
        long remaining = -1;
        try
        {
            if (source.CanSeek)
            {
                remaining = source.Length - source.Position;
            }
        }
        catch (NotSupportedException)
        {
            remaining = -1;
        }

        if (remaining >= 0 && length > remaining)
        {
            throw new EndOfStreamException();
        }

        const int FirstChunk = 1 << 16;
        byte[] buffer = new byte[remaining >= 0 ? length : Math.Min(length, FirstChunk)];
        int filled = 0;
        while (filled < length)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(length, 2L * buffer.Length));
            }

            int read = source.Read(buffer, filled, buffer.Length - filled);
            if (read <= 0)
            {
                throw new EndOfStreamException();
            }

            filled += read;
        }

        return buffer;
    }

    private static byte[] ReadExactly(BinaryReader br, int count)
    {
        byte[] bytes = br.ReadBytes(count);
        if (bytes.Length != count)
        {
            throw new EndOfStreamException();
        }

        return bytes;
    }

    private T[] ReadArray<T>()
        where T : unmanaged
    {
        int count = Guard(() => _reader.ReadInt32());
        long bytes = (long)count * Marshal.SizeOf<T>();
        if (count < 0 || bytes > _length - _reader.BaseStream.Position)
        {
            throw new CheckpointFormatException($"Corrupted checkpoint: an array claims {count} elements.");
        }

        var result = new T[count];
        Guard(() => ReadExactly(_reader, (int)bytes)).AsSpan().CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    private void Expect(string name, EntryTag tag)
    {
        if (AtEnd)
        {
            throw new CheckpointFormatException($"The checkpoint ends before entry '{name}'.");
        }

        string actual = Guard(ReadShortString);
        var actualTag = (EntryTag)Guard(() => _reader.ReadByte());
        if (actual != name || actualTag != tag)
        {
            throw new CheckpointFormatException($"Expected checkpoint entry '{name}' ({tag}) but found '{actual}' ({actualTag}).");
        }
    }

    private string ReadShortString()
    {
        ushort length = _reader.ReadUInt16();
        return Encoding.UTF8.GetString(ReadExactly(_reader, length));
    }

    private static T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointFormatException("The checkpoint is truncated.", e);
        }
    }
}
