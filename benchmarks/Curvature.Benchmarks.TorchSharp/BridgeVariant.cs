using Curvature.Backends.Managed;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>One way of running a training step through the bridge (each includes the plain step's work).</summary>
public sealed class BridgeVariant
{
    private BridgeVariant(string name, string description, string optimizer, TorchFisher fisher, bool precondition)
    {
        Name = name;
        Description = description;
        Optimizer = optimizer;
        Fisher = fisher;
        Precondition = precondition;
    }

    public string Name { get; }

    public string Description { get; }

    /// <summary>"adafisher" or "kfac".</summary>
    public string Optimizer { get; }

    public TorchFisher Fisher { get; }

    /// <summary>Precondition (write-back into <c>.grad</c>) instead of Step.</summary>
    public bool Precondition { get; }

    public static IReadOnlyList<BridgeVariant> All { get; } =
    [
        new("Step, empirical Fisher (default)",
            "`Record()` around the forward pass (hooks copy each layer input, keep each layer output's gradient), then `Step(loss, output)`: " +
            "the binding checks (in `Record` and `Step`), `loss.backward()`, each layer-output gradient copied, each `.grad` copied into its " +
            "Curvature buffer, then the optimizer's `ObserveAll` and `Step` (timed and subtracted: curvature maths and the in-place update).",
            "adafisher", TorchFisher.Empirical, precondition: false),
        new("Precondition, empirical Fisher",
            "As above with `Precondition(loss, output)`: the preconditioned gradient is written back into each `.grad` (one copy per parameter) " +
            "for a torch optimizer to apply (its step is not timed).",
            "adafisher", TorchFisher.Empirical, precondition: true),
        new("Step, Monte-Carlo Fisher (1 sample)",
            "As the first row with `TorchFisher.MonteCarlo`: the model output copied, one sampled vector computed and copied into a tensor, one extra " +
            "partial backward pass (`autograd.grad`) to the layer outputs before `loss.backward()`. The extra backward pass is the sampled Fisher's own " +
            "work (any K-FAC implementation pays it), not only the bridge's.",
            "adafisher", TorchFisher.MonteCarlo(LossFunction.CrossEntropy), precondition: false),
        new("Step, empirical Fisher, K-FAC",
            "The first row with K-FAC instead of AdaFisher (its factor, inverse and preconditioning work subtracted the same way; K-FAC's larger " +
            "maths also evicts the model from the caches, which shows up here).",
            "kfac", TorchFisher.Empirical, precondition: false),
    ];

    /// <summary>Attaches the variant's optimizer to <paramref name="model"/> (default settings, managed backend).</summary>
    public TorchCurvatureOptimizer<float> Attach(nn.Module model)
    {
        var backend = new ManagedBackend();
        Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<float>> create = Optimizer == "kfac"
            ? (spec, values, grads) => new KfacOptimizer<float>(backend, spec, values, grads)
            : (spec, values, grads) => new AdaFisherOptimizer<float>(backend, spec, values, grads);
        return TorchCurvature.Attach(model, create, new TorchCurvatureOptions { Fisher = Fisher });
    }

    /// <summary>One bridged training step (what a user writes), without the torch optimizer's own step in precondition mode.</summary>
    public void Step(Workload workload, nn.Module<Tensor, Tensor> model, TorchCurvatureOptimizer<float> optimizer)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        Tensor output;
        using (optimizer.Record())
        {
            output = model.call(workload.Input);
        }

        var loss = nn.functional.cross_entropy(output, workload.Targets);
        if (Precondition)
        {
            optimizer.Precondition(loss, output);
        }
        else
        {
            optimizer.Step(loss, output);
        }
    }
}
