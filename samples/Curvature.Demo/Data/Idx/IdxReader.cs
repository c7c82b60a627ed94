using System.Buffers.Binary;
using System.IO.Compression;

namespace Curvature.Demo.Data.Idx;

/// <summary>
/// Reads IDX files (the MNIST family's format: a 4-byte magic number <c>00 00 type rank</c>, <c>rank</c> big-endian
/// 32-bit dimensions, then the elements row-major), plain or gzip-compressed (detected from the content, not the
/// name). Every file is checked completely: magic number, element type, rank, dimensions, and that the data is exactly
/// as long as the dimensions declare, with nothing missing and nothing after it. Any problem is reported as an
/// <see cref="IdxFileException"/> naming the file; memory is never allocated on the word of the header alone
/// beyond what the file can actually hold.
/// </summary>
public static class IdxReader
{
    private const int MagicLength = 4;
    private const int TrailingBytesReported = 1 << 20;

    /// <summary>Reads the IDX file at <paramref name="path"/>.</summary>
    /// <param name="path">A plain or gzip-compressed IDX file. A gzip file must be a single gzip member
    /// (as <c>gzip</c> writes it), so that its trailer can confirm the length.</param>
    /// <param name="expectedType">When given, a file of another element type is rejected before its data is read.</param>
    /// <param name="expectedRank">When given, a file of another rank is rejected before its data is read.</param>
    /// <exception cref="IdxFileException">The file is missing, unreadable, corrupt, or not of the expected type or rank.</exception>
    public static IdxArray Read(string path, IdxDataType? expectedType = null, int? expectedRank = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new IdxFileException(path, IdxFileProblem.Missing, "the file does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IdxFileException(path, IdxFileProblem.Unreadable, $"the file cannot be opened: {e.Message}", e);
        }

        using (file)
        {
            try
            {
                return ReadOpened(path, file, expectedType, expectedRank);
            }
            catch (IdxFileException)
            {
                throw;
            }
            catch (InvalidDataException e)
            {
                throw new IdxFileException(path, IdxFileProblem.Corrupt, $"the gzip data is damaged: {e.Message}", e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IdxFileException(path, IdxFileProblem.Unreadable, $"the file cannot be read: {e.Message}", e);
            }
        }
    }

    private static IdxArray ReadOpened(string path, FileStream file, IdxDataType? expectedType, int? expectedRank)
    {
        long fileLength = file.Length;
        bool gzip = IsGzip(file);
        using var decompressed = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : null;
        Stream source = decompressed is null ? file : decompressed;
        string content = gzip ? "the decompressed content" : "the file";

        // Magic number: 00 00 <type> <rank>.
        Span<byte> magic = stackalloc byte[MagicLength];
        int got = source.ReadAtLeast(magic, MagicLength, throwOnEndOfStream: false);
        if (got < MagicLength)
        {
            throw Corrupt(path, $"truncated: {content} has {got} bytes, fewer than the 4-byte magic number.");
        }

        uint magicValue = BinaryPrimitives.ReadUInt32BigEndian(magic);
        if (magic[0] != 0 || magic[1] != 0)
        {
            throw Corrupt(path, $"not an IDX file: magic number 0x{magicValue:X8} does not start with two zero bytes.");
        }

        if (!IdxDataTypes.IsDefined(magic[2]))
        {
            throw Corrupt(path, $"magic number 0x{magicValue:X8} has the unknown element type code 0x{magic[2]:X2}.");
        }

        var type = (IdxDataType)magic[2];
        int rank = magic[3];
        if (rank == 0)
        {
            throw Corrupt(path, $"magic number 0x{magicValue:X8} declares rank 0; an IDX file has at least one dimension.");
        }

        if (expectedType is { } wantType && type != wantType)
        {
            throw new IdxFileException(path, IdxFileProblem.Unexpected, $"holds {type} elements, expected {wantType}.");
        }

        if (expectedRank is { } wantRank && rank != wantRank)
        {
            throw new IdxFileException(path, IdxFileProblem.Unexpected, $"has rank {rank}, expected {wantRank}.");
        }

        // Dimensions: rank big-endian 32-bit sizes.
        int headerLength = MagicLength + 4 * rank;
        Span<byte> dimensionBytes = stackalloc byte[4 * rank];
        got = source.ReadAtLeast(dimensionBytes, dimensionBytes.Length, throwOnEndOfStream: false);
        if (got < dimensionBytes.Length)
        {
            throw Corrupt(path, $"truncated header: rank {rank} needs a {headerLength}-byte header, but {content} ends after {MagicLength + got} bytes.");
        }

        var dimensions = new int[rank];
        long payloadLength = type.ElementSize();
        for (int i = 0; i < rank; i++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(dimensionBytes[(4 * i)..]);
            if (size > int.MaxValue)
            {
                throw Corrupt(path, $"dimension {i} is {size}, larger than any IDX file this reader accepts.");
            }

            dimensions[i] = (int)size;
            payloadLength *= size; // at most Array.MaxLength * int.MaxValue: cannot overflow a long
            if (payloadLength > Array.MaxLength)
            {
                throw Corrupt(path, $"dimensions [{Describe(dimensionBytes, rank)}] of {type} " +
                    $"declare more than {Array.MaxLength} bytes of data, more than an IDX file this reader accepts.");
            }
        }

        long declaredLength = headerLength + payloadLength;
        string declared = $"dimensions [{string.Join(", ", dimensions)}] of {type} declare {declaredLength} bytes with the header";
        byte[] payload;
        if (!gzip)
        {
            // The length is known: check it before allocating anything.
            if (fileLength < declaredLength)
            {
                throw Corrupt(path, $"truncated: {declared}, but the file has {fileLength} bytes.");
            }

            if (fileLength > declaredLength)
            {
                throw Corrupt(path, $"{fileLength - declaredLength} trailing bytes: {declared}, but the file has {fileLength} bytes.");
            }

            payload = new byte[payloadLength];
            got = source.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false);
            if (got < payload.Length)
            {
                throw Corrupt(path, $"truncated while reading: {declared}, but the file ends after {headerLength + got} bytes.");
            }
        }
        else
        {
            payload = ReadGrowing(path, source, (int)payloadLength, headerLength, declared, fileLength);
        }

        int trailing = CountTrailing(source);
        if (trailing > 0)
        {
            string count = trailing >= TrailingBytesReported ? $"at least {trailing}" : trailing.ToString();
            throw Corrupt(path, $"{count} trailing bytes: {declared}, but {content} goes on.");
        }

        if (gzip)
        {
            CheckGzipTrailer(path, file, fileLength, declaredLength);
        }

        return new IdxArray(type, dimensions, payload);
    }

    private static string Describe(ReadOnlySpan<byte> dimensionBytes, int rank)
    {
        var sizes = new uint[rank];
        for (int i = 0; i < rank; i++) sizes[i] = BinaryPrimitives.ReadUInt32BigEndian(dimensionBytes[(4 * i)..]);
        return string.Join(", ", sizes);
    }

    /// <summary>
    /// Reads <paramref name="length"/> decompressed bytes into a buffer that grows with the data actually
    /// delivered, so a corrupt header declaring gigabytes costs memory only in proportion to the real content.
    /// </summary>
    private static byte[] ReadGrowing(string path, Stream source, int length, int headerLength, string declared, long compressedLength)
    {
        const int MinimumCapacity = 1 << 20;
        long guess = Math.Max(MinimumCapacity, Math.Min(compressedLength * 4, Array.MaxLength));
        var buffer = new byte[Math.Min(length, guess)];
        int filled = 0;
        while (filled < length)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(length, 2L * buffer.Length));
            }

            int read = source.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                throw Corrupt(path, $"truncated: {declared}, but the decompressed content ends after {headerLength + filled} bytes.");
            }

            filled += read;
        }

        return buffer;
    }

    private static int CountTrailing(Stream source)
    {
        Span<byte> scratch = stackalloc byte[4096];
        int total = 0;
        int read;
        while (total < TrailingBytesReported && (read = source.Read(scratch)) > 0)
        {
            total += read;
        }

        return total;
    }

    /// <summary>
    /// A gzip member ends with CRC-32 and ISIZE (RFC 1952, section 2.3.1): the decompressed length modulo 2^32,
    /// little-endian, in the file's last four bytes. The decompressor checks the CRC when the trailer is there but
    /// accepts a missing trailer and bytes after it; comparing ISIZE with the length read catches both.
    /// </summary>
    private static void CheckGzipTrailer(string path, FileStream file, long fileLength, long declaredLength)
    {
        Span<byte> isize = stackalloc byte[4];
        if (fileLength < 18)
        {
            throw Corrupt(path, $"the gzip file has {fileLength} bytes, too short for a gzip header and trailer.");
        }

        file.Seek(fileLength - 4, SeekOrigin.Begin);
        file.ReadExactly(isize);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(isize);
        if (stored != (uint)declaredLength)
        {
            throw Corrupt(path, $"the gzip trailer records {stored} bytes (modulo 2^32) but {declaredLength} were decompressed: " +
                "the gzip file is truncated, has bytes after its end, or has several gzip members.");
        }
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> id = stackalloc byte[2];
        int got = file.ReadAtLeast(id, 2, throwOnEndOfStream: false);
        file.Seek(0, SeekOrigin.Begin);
        return got == 2 && id[0] == 0x1F && id[1] == 0x8B; // RFC 1952 ID1, ID2
    }

    private static IdxFileException Corrupt(string path, string detail) => new(path, IdxFileProblem.Corrupt, detail);
}
