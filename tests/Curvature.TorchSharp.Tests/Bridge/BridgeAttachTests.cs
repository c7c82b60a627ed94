using Curvature.Backends.Managed;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.Bridge;

/// <summary>What <see cref="TorchCurvature.Attach{T}"/> builds: the model description, the observed layers, the checks.</summary>
public class BridgeAttachTests
{
    [Fact]
    public void EveryTrainableParameterIsBound_AndTheLayersWithObservationsAreHooked()
    {
        using var problem = TorchProblems.Tokens(ScalarType.Float32);
        var model = problem.CreateModel();
        using var kfac = TorchCurvature.Attach(model, (spec, values, grads) => new KfacOptimizer<float>(new ManagedBackend(), spec, values, grads));

        Assert.Equal(model.named_parameters().Select(p => p.name), kfac.Model.Parameters.Select(p => p.Name));
        Assert.Equal([LayerKind.Embedding, LayerKind.LayerNorm, LayerKind.Linear, LayerKind.Parameter, LayerKind.Linear], kfac.Model.Layers.Select(l => l.Kind));
        Assert.Equal(["emb", "ln", "fc", "head"], kfac.ObservedLayers);
        Assert.Equal("empirical", kfac.Fisher.ToString());
        Assert.Contains("not a supported layer type", Assert.Single(kfac.Description.GenericParameters).Reason);

        // AdaFisher's official rule has no embedding curvature: the embedding is not observed (nor hooked).
        var other = problem.CreateModel();
        using var adaFisher = TorchCurvature.Attach(other, (spec, values, grads) =>
            new AdaFisherOptimizer<float>(new ManagedBackend(), spec, values, grads, AdaFisherOptimizerOptions.Official()));
        Assert.False(adaFisher.Optimizer.TakesObservations("emb"));
        Assert.True(adaFisher.Optimizer.TakesObservations("ln"));
        Assert.False(adaFisher.Optimizer.TakesObservations("scale.weight"));
        Assert.Throws<KeyNotFoundException>(() => adaFisher.Optimizer.TakesObservations("nope"));
        Assert.Equal(["ln", "fc", "head"], adaFisher.ObservedLayers);
    }

    [Fact]
    public void ParametersOfAnotherElementType_AndASingleLayerModule_AreRejected()
    {
        var model = nn.Sequential(("0", nn.Linear(3, 2)));
        var e = Assert.Throws<ArgumentException>(() => TorchCurvature.Attach(model, (spec, values, grads) => new KfacOptimizer<double>(new ManagedBackend(), spec, values, grads)));
        Assert.Contains("Float32", e.Message);
        Assert.Throws<ArgumentException>(() => TorchCurvature.Attach(nn.Linear(3, 2), (spec, values, grads) => new KfacOptimizer<float>(new ManagedBackend(), spec, values, grads)));
    }

    [Fact]
    public void TiedWeights_AreRefused()
    {
        var embedding = nn.Embedding(10, 4);
        var head = nn.Linear(4, 10, hasBias: false);
        head.weight = embedding.weight!;
        var model = nn.Sequential(("emb", embedding), ("head", head));
        Assert.Equal(["emb.weight", "head.weight"], model.named_parameters().Select(p => p.name));
        var e = Assert.Throws<NotSupportedException>(() => TorchCurvature.Attach(model, (spec, values, grads) => new KfacOptimizer<float>(new ManagedBackend(), spec, values, grads)));
        Assert.Contains("tied", e.Message);
    }
}
