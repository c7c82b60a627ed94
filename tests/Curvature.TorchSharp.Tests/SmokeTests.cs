using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests;

public class SmokeTests
{
    [Fact]
    public void MlpForwardBackward()
    {
        var model = nn.Sequential(("0", nn.Linear(784, 256)), ("1", nn.ReLU()), ("2", nn.Linear(256, 10)));
        var x = randn(32, 784);
        var y = model.call(x);
        var loss = y.square().mean();
        loss.backward();
        Assert.NotNull(model.parameters().First().grad);
    }
}
