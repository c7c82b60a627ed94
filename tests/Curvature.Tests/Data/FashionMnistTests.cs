using Curvature.Demo.Data.Idx;
using Xunit;

namespace Curvature.Tests.Data;

public sealed class FashionMnistTests : IDisposable
{
    private readonly IdxTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>True when the Cake Test task installed the data set, so its absence is a failure, not a skip.</summary>
    private static bool DatasetsRequired => Environment.GetEnvironmentVariable("CURVATURE_REQUIRE_DATASETS") == "1";

    private static byte[] ImageBytes(int count, int seed)
    {
        var bytes = new byte[count * 28 * 28];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)((i * 31 + seed * 17) % 256);
        return bytes;
    }

    private void WriteSplit(string prefix, byte[] images, byte[] labels, bool gzip, uint rows = 28, uint columns = 28)
    {
        string suffix = gzip ? ".gz" : "";
        _files.Write($"{prefix}-images-idx3-ubyte{suffix}", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [(uint)labels.Length, rows, columns], images), gzip);
        _files.Write($"{prefix}-labels-idx1-ubyte{suffix}", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [(uint)labels.Length], labels), gzip);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loads_both_splits_from_a_directory_with_pixels_scaled_to_the_unit_interval(bool gzip)
    {
        byte[] trainImages = ImageBytes(3, seed: 1), testImages = ImageBytes(2, seed: 2);
        WriteSplit("train", trainImages, [9, 0, 5], gzip);
        WriteSplit("t10k", testImages, [3, 3], gzip);

        var data = FashionMnist.Load(_files.Directory);

        Assert.Equal(_files.Directory, data.Directory);
        Assert.Equal(3, data.Train.Count);
        Assert.Equal(2, data.Test.Count);
        Assert.Equal(784, data.Train.PixelsPerImage);
        Assert.Equal(10, data.Train.ClassCount);
        Assert.Equal([9, 0, 5], data.Train.Labels);
        Assert.Equal([3, 3], data.Test.Labels);
        Assert.Equal(trainImages.Select(b => b / 255f).ToArray(), data.Train.Pixels);
        Assert.Equal(testImages.Select(b => b / 255f).ToArray(), data.Test.Pixels);
        Assert.Equal(testImages.AsSpan(784, 784).ToArray().Select(b => b / 255f).ToArray(), data.Test.Image(1).ToArray());
    }

    [Fact]
    public void Prefers_the_compressed_file_when_both_are_present()
    {
        WriteSplit("t10k", ImageBytes(1, seed: 3), [4], gzip: true);
        WriteSplit("t10k", ImageBytes(2, seed: 4), [5, 6], gzip: false);

        Assert.Equal([4], FashionMnist.LoadSplit(FashionMnistSplit.Test, _files.Directory).Labels);
    }

    [Fact]
    public void A_missing_data_set_names_the_file_and_how_to_install_it()
    {
        var e = Assert.Throws<IdxFileException>(() => FashionMnist.Load(Path.Combine(_files.Directory, "absent")));

        Assert.Equal(IdxFileProblem.Missing, e.Problem);
        Assert.Equal(Path.Combine(_files.Directory, "absent", "train-images-idx3-ubyte.gz"), e.FilePath);
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void A_missing_label_file_is_named()
    {
        _files.Write("train-images-idx3-ubyte", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [1, 28, 28], ImageBytes(1, seed: 5)));

        var e = Assert.Throws<IdxFileException>(() => FashionMnist.LoadSplit(FashionMnistSplit.Train, _files.Directory));

        Assert.Equal(IdxFileProblem.Missing, e.Problem);
        Assert.EndsWith("train-labels-idx1-ubyte.gz", e.FilePath);
    }

    [Fact]
    public void Rejects_label_and_image_counts_that_differ()
    {
        _files.Write("train-images-idx3-ubyte", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [2, 28, 28], ImageBytes(2, seed: 6)));
        _files.Write("train-labels-idx1-ubyte", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [3], [1, 2, 3]));

        var e = Assert.Throws<IdxFileException>(() => FashionMnist.LoadSplit(FashionMnistSplit.Train, _files.Directory));

        Assert.Equal(IdxFileProblem.Unexpected, e.Problem);
        Assert.EndsWith("train-labels-idx1-ubyte", e.FilePath);
        Assert.Contains("3 labels", e.Message);
        Assert.Contains("2 images", e.Message);
    }

    [Fact]
    public void Rejects_a_label_outside_the_ten_classes()
    {
        WriteSplit("train", ImageBytes(3, seed: 7), [1, 10, 2], gzip: false);

        var e = Assert.Throws<IdxFileException>(() => FashionMnist.LoadSplit(FashionMnistSplit.Train, _files.Directory));

        Assert.Equal(IdxFileProblem.Corrupt, e.Problem);
        Assert.Contains("label 1 is 10", e.Message);
    }

    [Fact]
    public void Rejects_images_of_another_size_or_rank()
    {
        WriteSplit("train", new byte[2 * 27 * 28], [1, 2], gzip: false, rows: 27);
        var size = Assert.Throws<IdxFileException>(() => FashionMnist.LoadSplit(FashionMnistSplit.Train, _files.Directory));
        Assert.Equal(IdxFileProblem.Unexpected, size.Problem);
        Assert.Contains("27×28 images, expected 28×28", size.Message);

        _files.Write("t10k-images-idx3-ubyte", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [2, 784], new byte[2 * 784]));
        _files.Write("t10k-labels-idx1-ubyte", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [2], [1, 2]));
        var rank = Assert.Throws<IdxFileException>(() => FashionMnist.LoadSplit(FashionMnistSplit.Test, _files.Directory));
        Assert.Equal(IdxFileProblem.Unexpected, rank.Problem);
        Assert.Contains("rank 2, expected 3", rank.Message);
    }

    [Fact]
    public void The_installed_data_set_has_the_published_counts_classes_and_pixel_mean()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DebianDirectory, "train-images-idx3-ubyte.gz")) && !DatasetsRequired)
        {
            Assert.Skip("Fashion-MNIST is not installed (native/install-datasets.sh installs it).");
        }

        var data = FashionMnist.Load();

        Assert.Equal(60000, data.Train.Count);
        Assert.Equal(10000, data.Test.Count);
        Assert.Equal(60000 * 784, data.Train.Pixels.Length);
        Assert.Equal(10000 * 784, data.Test.Pixels.Length);

        // Balanced classes (Xiao et al. 2017): 6,000 training and 1,000 test images per class.
        Assert.All(Histogram(data.Train.Labels), c => Assert.Equal(6000, c));
        Assert.All(Histogram(data.Test.Labels), c => Assert.Equal(1000, c));

        // Pixels span [0, 1] exactly; the training mean is the widely used normalisation constant 0.2860.
        foreach (var split in new[] { data.Train, data.Test })
        {
            Assert.Equal(0f, split.Pixels.Min());
            Assert.Equal(1f, split.Pixels.Max());
        }

        double mean = data.Train.Pixels.Average(p => (double)p);
        Assert.InRange(mean, 0.2855, 0.2865);
    }

    private static int[] Histogram(int[] labels)
    {
        var counts = new int[10];
        foreach (int label in labels) counts[label]++;
        return counts;
    }
}
