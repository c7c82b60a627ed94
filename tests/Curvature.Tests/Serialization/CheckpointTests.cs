using Curvature.Serialization;
using Xunit;

namespace Curvature.Tests.Serialization;

public class CheckpointTests
{
    private static byte[] Sample()
    {
        using var ms = new MemoryStream();
        var w = new CheckpointWriter(ms, "Test.Kind", 2);
        w.WriteInt32("count", 7);
        w.WriteDoubles("values", [1.5, -2.25, double.Epsilon]);
        w.WriteString("label", "layer.0");
        w.Complete();
        return ms.ToArray();
    }

    [Fact]
    public void RoundTrip_ReadsBackEveryEntry()
    {
        var r = CheckpointReader.Open(new MemoryStream(Sample()), "Test.Kind", 2);
        Assert.Equal(2, r.SchemaVersion);
        Assert.Equal(7, r.ReadInt32("count"));
        Assert.Equal(new[] { 1.5, -2.25, double.Epsilon }, r.ReadDoubles("values"));
        Assert.Equal("layer.0", r.ReadString("label"));
        r.EnsureAtEnd();
    }

    [Fact]
    public void Open_EveryTruncation_Throws()
    {
        byte[] bytes = Sample();
        for (int len = 0; len < bytes.Length; len++)
        {
            Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(new MemoryStream(bytes[..len]), "Test.Kind", 2));
        }
    }

    [Fact]
    public void Open_AnyFlippedByte_Throws()
    {
        byte[] bytes = Sample();
        for (int i = 0; i < bytes.Length; i++)
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x40;
            Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(new MemoryStream(copy), "Test.Kind", 2));
        }
    }

    [Fact]
    public void Open_WrongKindOrNewerSchema_Throws()
    {
        Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(new MemoryStream(Sample()), "Other.Kind", 2));
        Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(new MemoryStream(Sample()), "Test.Kind", 1));
    }

    [Fact]
    public void Read_WrongEntryName_Throws()
    {
        var r = CheckpointReader.Open(new MemoryStream(Sample()), "Test.Kind", 2);
        Assert.Throws<CheckpointFormatException>(() => r.ReadInt32("other"));
    }
}
