using Curvature.Demo.Data.Idx;
using Curvature.TorchSharp.Tests.Demo.Data;

namespace Curvature.TorchSharp.Tests.Demo;

/// <summary>
/// A small Fashion-MNIST-shaped data set in a temporary folder (the four gzip-compressed IDX files): image <c>i</c> has
/// label <c>i mod 10</c> and shows a bright band whose position depends on the label, over a little seeded noise, so
/// both demo models learn from it in a few steps.
/// </summary>
public sealed class DemoTestData : IDisposable
{
    private readonly IdxTestFiles _files = new();

    public DemoTestData(int trainCount = 96, int testCount = 40)
    {
        WriteSplit("train", trainCount, seed: 1);
        WriteSplit("t10k", testCount, seed: 2);
    }

    public string Directory => _files.Directory;

    public void Dispose() => _files.Dispose();

    private void WriteSplit(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        var images = new byte[count * 784];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % 10;
            labels[i] = (byte)label;
            for (int r = 0; r < 28; r++)
            {
                for (int c = 0; c < 28; c++)
                {
                    bool band = r >= 2 + (2 * label) && r < 6 + (2 * label) && c >= 4 && c < 24;
                    images[(i * 784) + (r * 28) + c] = (byte)(band ? 200 + random.Next(56) : random.Next(40));
                }
            }
        }

        _files.Write($"{prefix}-images-idx3-ubyte.gz", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [(uint)count, 28, 28], images), gzip: true);
        _files.Write($"{prefix}-labels-idx1-ubyte.gz", IdxTestFiles.Encode(IdxDataType.UnsignedByte, [(uint)count], labels), gzip: true);
    }
}
