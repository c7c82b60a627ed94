using System.Buffers.Binary;
using Curvature.Serialization;
using Xunit;

namespace Curvature.Tests.Serialization;

/// <summary>
/// Length fields are read before the CRC can be checked: a corrupted one must be rejected with
/// <see cref="CheckpointFormatException"/> without allocating what it claims.
/// </summary>
public class CheckpointLengthFieldTests
{
    private const string Kind = "Test.Kind";

    private static byte[] Sample()
    {
        using var ms = new MemoryStream();
        var w = new CheckpointWriter(ms, Kind, 1);
        w.WriteDoubles("values", new double[100]);
        w.Complete();
        return ms.ToArray();
    }

    /// <summary>Offset of the i64 payload length: magic (4), format (2), kind length (2), kind, schema (4).</summary>
    private static int PayloadLengthOffset => 4 + 2 + 2 + Kind.Length + 4;

    /// <summary>A stream that cannot seek and returns few bytes per read, like a socket or a pipe.</summary>
    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, 7), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(1L << 30)]              // one flipped bit in a ~1 KB file: 1 GiB
    [InlineData(int.MaxValue)]          // used to throw OutOfMemoryException
    [InlineData(int.MaxValue - 64L)]
    [InlineData(200_000_000L)]
    public void Open_HugePayloadLength_ThrowsFormatException_WithoutAllocatingIt(long claimed)
    {
        foreach (bool seekable in new[] { true, false })
        {
            byte[] bytes = Sample();
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(PayloadLengthOffset), claimed);
            Stream source = seekable ? new MemoryStream(bytes) : new TrickleStream(bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(source, Kind, 1));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 4 << 20, $"claimed {claimed} bytes (seekable: {seekable}): allocated {allocated} bytes");
        }
    }

    [Fact]
    public void Open_EveryPayloadLengthBitFlipped_ThrowsFormatException_WithoutLargeAllocations()
    {
        byte[] original = Sample();
        for (int bit = 0; bit < 64; bit++)
        {
            byte[] bytes = (byte[])original.Clone();
            bytes[PayloadLengthOffset + (bit / 8)] ^= (byte)(1 << (bit % 8));
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(new TrickleStream(bytes), Kind, 1));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 4 << 20, $"bit {bit}: allocated {allocated} bytes");
        }
    }

    [Fact]
    public void Open_ValidCheckpoint_FromATrickleStream_ReadsEverything()
    {
        var r = CheckpointReader.Open(new TrickleStream(Sample()), Kind, 1);
        Assert.Equal(new double[100], r.ReadDoubles("values"));
        r.EnsureAtEnd();
    }
}
