using Curvature.Loss;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests;

/// <summary>The capture keeps only the tensors of the last recording (counts libtorch's live tensors: runs alone).</summary>
[Collection(nameof(SerialTests))]
public class CaptureLifetimeTests
{
    [Fact]
    public void RepeatedSteps_ReleaseTheirTensors()
    {
        manual_seed(22);
        var model = nn.Sequential(("0", nn.Linear(8, 8)), ("1", nn.ReLU()), ("2", nn.Linear(8, 4)));
        using var capture = new TorchLayerCapture<float>(model);
        var observer = new RecordingObserver<float>();
        long[] counts = new long[6];

        // No garbage collection during the steps: a tensor handle the capture forgot to dispose stays counted.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.True(GC.TryStartNoGCRegion(64 << 20));
        try
        {
            for (int step = 0; step < counts.Length; step++)
            {
                using var scope = NewDisposeScope();
                using var x = randn([16, 8]);
                using var y = randint(0, 4, [16]);
                Tensor output;
                using (capture.Record(retainOutputGradients: step % 2 == 0))
                {
                    output = model.call(x);
                }

                if (step % 2 == 0)
                {
                    using var loss = nn.functional.cross_entropy(output, y);
                    loss.backward();
                    capture.ObserveLossGradients(observer);
                }
                else
                {
                    capture.ObserveLossVectors(output, y, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Type2, observer);
                }

                scope.Dispose();
                counts[step] = Tensor.TotalCount;
            }
        }
        finally
        {
            GC.EndNoGCRegion();
        }

        // Live tensors are the same after every step of the same kind (the capture keeps only the last recording).
        Assert.Equal(counts[2], counts[4]);
        Assert.Equal(counts[3], counts[5]);
    }
}
