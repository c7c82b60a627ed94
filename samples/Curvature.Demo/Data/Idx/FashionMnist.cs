namespace Curvature.Demo.Data.Idx;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 28×28 grey-scale images of clothing in ten classes, 60,000 for
/// training and 10,000 for testing, read from the original IDX files. By default the files come from Debian's
/// <c>dataset-fashion-mnist</c> package; any directory holding the four files (gzip-compressed or not) can be given instead.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the IDX files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Image height and width.</summary>
    public const int ImageSize = 28;

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>Class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static readonly float[] PixelScale = CreatePixelScale();

    private FashionMnist(string directory, LabeledImages train, LabeledImages test)
    {
        Directory = directory;
        Train = train;
        Test = test;
    }

    /// <summary>The directory the files were read from.</summary>
    public string Directory { get; }

    /// <summary>The training images.</summary>
    public LabeledImages Train { get; }

    /// <summary>The test images.</summary>
    public LabeledImages Test { get; }

    /// <summary>Reads both splits from <paramref name="directory"/> (default <see cref="DebianDirectory"/>).</summary>
    /// <exception cref="IdxFileException">A file is missing, unreadable, corrupt, or not Fashion-MNIST-shaped; the message names it.</exception>
    public static FashionMnist Load(string? directory = null)
    {
        string dir = directory ?? DebianDirectory;
        return new FashionMnist(dir, LoadSplit(FashionMnistSplit.Train, dir), LoadSplit(FashionMnistSplit.Test, dir));
    }

    /// <summary>Reads one split from <paramref name="directory"/> (default <see cref="DebianDirectory"/>).</summary>
    /// <exception cref="IdxFileException">A file is missing, unreadable, corrupt, or not Fashion-MNIST-shaped; the message names it.</exception>
    public static LabeledImages LoadSplit(FashionMnistSplit split, string? directory = null)
    {
        string dir = directory ?? DebianDirectory;
        string prefix = split == FashionMnistSplit.Train ? "train" : "t10k";
        string imagesPath = Locate(dir, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Locate(dir, $"{prefix}-labels-idx1-ubyte");

        var images = IdxReader.Read(imagesPath, IdxDataType.UnsignedByte, expectedRank: 3);
        if (images.Dimensions[1] != ImageSize || images.Dimensions[2] != ImageSize)
        {
            throw new IdxFileException(imagesPath, IdxFileProblem.Unexpected,
                $"holds {images.Dimensions[1]}×{images.Dimensions[2]} images, expected {ImageSize}×{ImageSize}.");
        }

        var labels = IdxReader.Read(labelsPath, IdxDataType.UnsignedByte, expectedRank: 1);
        int count = images.Dimensions[0];
        if (labels.Dimensions[0] != count)
        {
            throw new IdxFileException(labelsPath, IdxFileProblem.Unexpected,
                $"holds {labels.Dimensions[0]} labels, but '{imagesPath}' holds {count} images.");
        }

        var labelValues = new int[count];
        ReadOnlySpan<byte> labelBytes = labels.UnsignedBytes;
        for (int i = 0; i < count; i++)
        {
            if (labelBytes[i] >= ClassCount)
            {
                throw new IdxFileException(labelsPath, IdxFileProblem.Corrupt,
                    $"label {i} is {labelBytes[i]}, outside the {ClassCount} classes 0..{ClassCount - 1}.");
            }

            labelValues[i] = labelBytes[i];
        }

        ReadOnlySpan<byte> pixelBytes = images.UnsignedBytes;
        var pixels = new float[pixelBytes.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = PixelScale[pixelBytes[i]];

        return new LabeledImages(pixels, labelValues, ImageSize, ImageSize, ClassCount);
    }

    /// <summary>The gzip-compressed file when present, else the plain one; when neither exists, the reader's
    /// "missing" error names the compressed file and says how to install the data set.</summary>
    private static string Locate(string directory, string baseName)
    {
        string compressed = Path.Combine(directory, baseName + ".gz");
        if (File.Exists(compressed)) return compressed;
        string plain = Path.Combine(directory, baseName);
        if (File.Exists(plain)) return plain;
        throw new IdxFileException(compressed, IdxFileProblem.Missing,
            $"the file does not exist (nor '{plain}'). Fashion-MNIST is not installed: install Debian's dataset-fashion-mnist " +
            $"package (native/install-datasets.sh does) or give a directory holding the four IDX files.");
    }

    private static float[] CreatePixelScale()
    {
        var scale = new float[256];
        for (int i = 0; i < scale.Length; i++) scale[i] = i / 255f;
        return scale;
    }
}
