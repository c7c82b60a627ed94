using Curvature.Demo.Data.Idx;
using static TorchSharp.torch;

namespace Curvature.Demo.Data;

/// <summary>
/// Fashion-MNIST in memory as TorchSharp tensors: images <c>[N, 784]</c> float32 in [0, 1] (byte / 255) and labels
/// <c>[N]</c> int64, for the training and test splits (optionally only their first images).
/// </summary>
public sealed class DemoData : IDisposable
{
    private DemoData(string directory, Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels)
    {
        Directory = directory;
        TrainImages = trainImages;
        TrainLabels = trainLabels;
        TestImages = testImages;
        TestLabels = testLabels;
    }

    /// <summary>Where the IDX files were read from.</summary>
    public string Directory { get; }

    /// <summary>Training images <c>[N, 784]</c>.</summary>
    public Tensor TrainImages { get; }

    /// <summary>Training labels <c>[N]</c>.</summary>
    public Tensor TrainLabels { get; }

    /// <summary>Test images <c>[M, 784]</c>.</summary>
    public Tensor TestImages { get; }

    /// <summary>Test labels <c>[M]</c>.</summary>
    public Tensor TestLabels { get; }

    /// <summary>Training images in use.</summary>
    public int TrainCount => (int)TrainLabels.shape[0];

    /// <summary>Test images in use.</summary>
    public int TestCount => (int)TestLabels.shape[0];

    /// <summary>Reads Fashion-MNIST from <paramref name="directory"/> (Debian's location when null), keeping the first
    /// <paramref name="trainLimit"/> / <paramref name="testLimit"/> images of each split when given.</summary>
    /// <exception cref="IdxFileException">A file is missing or corrupt; the message names it.</exception>
    public static DemoData Load(string? directory, int? trainLimit = null, int? testLimit = null)
    {
        var data = FashionMnist.Load(directory);
        var (trainImages, trainLabels) = ToTensors(data.Train, trainLimit);
        var (testImages, testLabels) = ToTensors(data.Test, testLimit);
        return new DemoData(data.Directory, trainImages, trainLabels, testImages, testLabels);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        TrainImages.Dispose();
        TrainLabels.Dispose();
        TestImages.Dispose();
        TestLabels.Dispose();
    }

    private static (Tensor Images, Tensor Labels) ToTensors(LabeledImages split, int? limit)
    {
        int count = Math.Min(split.Count, limit ?? int.MaxValue);
        int pixels = split.PixelsPerImage;
        var images = tensor(split.Pixels.AsSpan(0, count * pixels).ToArray(), [count, pixels]).DetachFromDisposeScope();
        var labels = tensor(split.Labels.AsSpan(0, count).ToArray().Select(l => (long)l).ToArray(), [count]).DetachFromDisposeScope();
        return (images, labels);
    }
}
