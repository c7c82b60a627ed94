using System.Buffers.Binary;
using Curvature.Demo.Data.Idx;
using Xunit;

namespace Curvature.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly IdxTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    public static TheoryData<IdxDataType, bool> TypesAndCompression()
    {
        var data = new TheoryData<IdxDataType, bool>();
        foreach (var type in Enum.GetValues<IdxDataType>())
        {
            data.Add(type, false);
            data.Add(type, true);
        }

        return data;
    }

    /// <summary>Values at the edges of each type's range, all exactly representable as float.</summary>
    private static double[] SampleValues(IdxDataType type) => type switch
    {
        IdxDataType.UnsignedByte => [0, 1, 127, 128, 254, 255],
        IdxDataType.SignedByte => [-128, -1, 0, 1, 100, 127],
        IdxDataType.Int16 => [-32768, -1, 0, 1, 258, 32767],
        IdxDataType.Int32 => [int.MinValue, -7, 0, 65536, 16777216, 1 << 30],
        IdxDataType.Float32 => [-0.25, 0, 1.5, 3.0e38, -1.0e-30, 123456.75],
        IdxDataType.Float64 => [-0.5, 0, 2, 1.0e10, -1024.125, 0.0078125],
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    [Theory]
    [MemberData(nameof(TypesAndCompression))]
    public void Reads_every_element_type_plain_and_gzip(IdxDataType type, bool gzip)
    {
        double[] values = SampleValues(type);
        byte[] payload = IdxTestFiles.Payload(type, values);
        string path = _files.Write($"values-{type}.idx", IdxTestFiles.Encode(type, [2, 3], payload), gzip);

        var array = IdxReader.Read(path);

        Assert.Equal(type, array.DataType);
        Assert.Equal([2, 3], array.Dimensions);
        Assert.Equal(2, array.Rank);
        Assert.Equal(6, array.ElementCount);
        Assert.Equal(payload, array.RawBytes.ToArray());
        Assert.Equal(values.Select(v => (float)v).ToArray(), array.ToSingles());
        if (type == IdxDataType.UnsignedByte)
        {
            Assert.Equal(payload, array.UnsignedBytes.ToArray());
        }
        else
        {
            Assert.Throws<InvalidOperationException>(() => array.UnsignedBytes.Length);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_image_and_label_shaped_files(bool gzip)
    {
        var pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 4)).ToArray();
        string images = _files.Write("images", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [3, 4, 5], pixels), gzip);
        string labels = _files.Write("labels", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [3], [7, 0, 9]), gzip);

        var imageArray = IdxReader.Read(images, IdxDataType.UnsignedByte, expectedRank: 3);
        var labelArray = IdxReader.Read(labels, IdxDataType.UnsignedByte, expectedRank: 1);

        Assert.Equal([3, 4, 5], imageArray.Dimensions);
        Assert.Equal(pixels, imageArray.UnsignedBytes.ToArray());
        Assert.Equal([3], labelArray.Dimensions);
        Assert.Equal(new byte[] { 7, 0, 9 }, labelArray.UnsignedBytes.ToArray());
    }

    [Fact]
    public void Reads_a_file_with_a_zero_dimension_as_empty()
    {
        string path = _files.Write("empty", IdxTestFiles.Encode(IdxDataType.Float32, [0, 784], []));

        var array = IdxReader.Read(path);

        Assert.Equal([0, 784], array.Dimensions);
        Assert.Equal(0, array.ElementCount);
    }

    [Fact]
    public void Compression_is_detected_from_the_content_not_the_name()
    {
        byte[] content = IdxTestFiles.Encode(IdxDataType.UnsignedByte, [4], [1, 2, 3, 4]);
        string plainNamedGz = _files.Write("plain.gz", content);
        string gzipWithoutSuffix = _files.Write("compressed", content, gzip: true);

        Assert.Equal(new byte[] { 1, 2, 3, 4 }, IdxReader.Read(plainNamedGz).UnsignedBytes.ToArray());
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, IdxReader.Read(gzipWithoutSuffix).UnsignedBytes.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0x01, 0x00, 0x08, 0x01 }, "two zero bytes")]
    [InlineData(new byte[] { 0x00, 0x01, 0x08, 0x01 }, "two zero bytes")]
    [InlineData(new byte[] { 0x00, 0x00, 0x0A, 0x01 }, "unknown element type code 0x0A")]
    [InlineData(new byte[] { 0x00, 0x00, 0x00, 0x01 }, "unknown element type code 0x00")]
    [InlineData(new byte[] { 0x00, 0x00, 0x08, 0x00 }, "rank 0")]
    public void Rejects_a_bad_magic_number(byte[] magic, string reason)
    {
        // A well-formed one-dimensional file of 4 bytes, then its magic number replaced.
        byte[] content = IdxTestFiles.Encode(IdxDataType.UnsignedByte, [4], [1, 2, 3, 4]);
        magic.CopyTo(content, 0);
        foreach (bool gzip in new[] { false, true })
        {
            string path = _files.Write($"magic-{gzip}", content, gzip);
            var e = AssertCorrupt(path);
            Assert.Contains(reason, e.Message);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_an_unexpected_rank_or_type_before_reading_the_data(bool gzip)
    {
        string path = _files.Write("rank2", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [2, 2], [1, 2, 3, 4]), gzip);

        var rank = Assert.Throws<IdxFileException>(() => IdxReader.Read(path, expectedRank: 3));
        var type = Assert.Throws<IdxFileException>(() => IdxReader.Read(path, IdxDataType.Float32));

        Assert.Equal(IdxFileProblem.Unexpected, rank.Problem);
        Assert.Contains("rank 2, expected 3", rank.Message);
        Assert.Equal(IdxFileProblem.Unexpected, type.Problem);
        Assert.Contains("UnsignedByte elements, expected Float32", type.Message);
        Assert.Equal(path, rank.FilePath);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_a_file_truncated_anywhere(bool gzip)
    {
        // 16-byte header + 60 data bytes; cut inside the magic, the dimensions, and the data.
        byte[] content = IdxTestFiles.Encode(IdxDataType.Int16, [3, 2, 5], IdxTestFiles.Payload(IdxDataType.Int16, Enumerable.Range(0, 30).Select(i => (double)i).ToArray()));
        Assert.Equal(76, content.Length);
        foreach (int length in new[] { 0, 1, 3, 4, 5, 8, 15, 16, 17, 40, 74, 75 })
        {
            string path = _files.Write($"truncated-{length}", content[..length], gzip);
            var e = AssertCorrupt(path);
            Assert.Contains("truncated", e.Message);
        }
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(false, 1000)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(true, 1000)]
    public void Rejects_trailing_bytes(bool gzip, int extra)
    {
        byte[] content = IdxTestFiles.Encode(IdxDataType.Float64, [2], IdxTestFiles.Payload(IdxDataType.Float64, [1, 2]));
        string path = _files.Write("trailing", [.. content, .. new byte[extra]], gzip);

        var e = AssertCorrupt(path);

        Assert.Contains($"{extra} trailing bytes", e.Message);
    }

    [Fact]
    public void Rejects_a_gzip_file_cut_short_or_followed_by_other_bytes()
    {
        var pixels = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7 % 251)).ToArray();
        byte[] gzip = IdxTestFiles.Gzip(IdxTestFiles.Encode(IdxDataType.UnsignedByte, [5000], pixels));
        Assert.Equal(pixels, IdxReader.Read(_files.Write("whole.gz", gzip)).UnsignedBytes.ToArray());

        // Cut in the deflate data, in the CRC, in the size field; then junk and zeros after a complete member.
        var damaged = new List<byte[]>();
        foreach (int cut in new[] { 1, 4, 6, 8, 12, gzip.Length / 2, gzip.Length - 11 })
        {
            damaged.Add(gzip[..^cut]);
        }

        damaged.Add([.. gzip, .. "garbage!"u8.ToArray()]);
        damaged.Add([.. gzip, 0, 0, 0, 0]);
        damaged.Add([.. gzip, .. IdxTestFiles.Gzip([1, 2, 3])]); // a second gzip member that would add data
        for (int i = 0; i < damaged.Count; i++)
        {
            AssertCorrupt(_files.Write($"damaged-{i}.gz", damaged[i]));
        }
    }

    [Fact]
    public void Rejects_gzip_data_with_flipped_bits()
    {
        var pixels = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7 % 251)).ToArray();
        byte[] gzip = IdxTestFiles.Gzip(IdxTestFiles.Encode(IdxDataType.UnsignedByte, [5000], pixels));
        // Bytes after the 10-byte gzip header: the deflate data, the CRC-32 and the size field. A flip is either
        // reported as corruption or (when it only hits the unused padding bits after the last deflate block)
        // changes nothing: wrong data is never returned.
        int rejected = 0;
        for (int at = 10; at < gzip.Length; at++)
        {
            byte[] copy = (byte[])gzip.Clone();
            copy[at] ^= 0x10;
            string path = _files.Write($"flipped-{at}.gz", copy);
            try
            {
                Assert.Equal(pixels, IdxReader.Read(path).UnsignedBytes.ToArray());
            }
            catch (IdxFileException e)
            {
                Assert.Equal(IdxFileProblem.Corrupt, e.Problem);
                rejected++;
            }
        }

        Assert.True(rejected >= gzip.Length - 10 - 1, $"{rejected} of {gzip.Length - 10} flips rejected");
    }

    [Fact]
    public void Reports_a_missing_file_or_directory_by_name()
    {
        string missingFile = Path.Combine(_files.Directory, "no-such-file");
        string missingDirectory = Path.Combine(_files.Directory, "no-such-dir", "file");

        var file = Assert.Throws<IdxFileException>(() => IdxReader.Read(missingFile));
        var directory = Assert.Throws<IdxFileException>(() => IdxReader.Read(missingDirectory));

        Assert.Equal(IdxFileProblem.Missing, file.Problem);
        Assert.Equal(missingFile, file.FilePath);
        Assert.Contains(missingFile, file.Message);
        Assert.Equal(IdxFileProblem.Missing, directory.Problem);
        Assert.Contains(missingDirectory, directory.Message);
    }

    [Fact]
    public void Reports_a_directory_given_as_the_file_as_unreadable()
    {
        var e = Assert.Throws<IdxFileException>(() => IdxReader.Read(_files.Directory));

        Assert.Equal(IdxFileProblem.Unreadable, e.Problem);
        Assert.Contains(_files.Directory, e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_dimensions_beyond_any_array_without_allocating(bool gzip)
    {
        var cases = new (IdxDataType Type, uint[] Dimensions)[]
        {
            (IdxDataType.UnsignedByte, [0xFFFFFFFF]),                  // above int.MaxValue
            (IdxDataType.UnsignedByte, [0x80000000, 1]),               // int.MaxValue + 1
            (IdxDataType.UnsignedByte, [int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue]), // product overflows 64 bits
            (IdxDataType.Float64, [300_000_000]),                      // 2.4 GB of doubles
            (IdxDataType.UnsignedByte, [65536, 65536]),                // 4 GiB
        };
        foreach (var (type, dimensions) in cases)
        {
            string path = _files.Write("huge", IdxTestFiles.Encode(type, dimensions, [1, 2, 3, 4, 5, 6, 7, 8]), gzip);
            long before = GC.GetAllocatedBytesForCurrentThread();
            AssertCorrupt(path);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, $"{string.Join("x", dimensions)} allocated too much");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_large_declared_size_with_little_data_costs_memory_only_for_the_data(bool gzip)
    {
        // 2 GB declared (within Array.MaxLength), 8 bytes present: rejected as truncated without a 2 GB buffer.
        string path = _files.Write("big", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [2, 1_000_000_000], [1, 2, 3, 4, 5, 6, 7, 8]), gzip);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = AssertCorrupt(path);

        Assert.Contains("truncated", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20);
    }

    [Fact]
    public void A_large_gzip_file_is_read_whole_through_the_growing_buffer()
    {
        // 3 MiB of data compress to a few kilobytes: the buffer starts small and must grow to the exact length.
        int n = 3 << 20;
        var pixels = new byte[n];
        for (int i = 0; i < n; i++) pixels[i] = (byte)(i % 13);
        string path = _files.Write("large.gz", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [(uint)n], pixels), gzip: true);

        var array = IdxReader.Read(path);

        Assert.Equal(n, array.ElementCount);
        Assert.True(array.UnsignedBytes.SequenceEqual(pixels));
    }

    private static IdxFileException AssertCorrupt(string path)
    {
        var e = Assert.Throws<IdxFileException>(() => IdxReader.Read(path));
        Assert.Equal(IdxFileProblem.Corrupt, e.Problem);
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        return e;
    }
}
