using Curvature.Loss;
using Curvature.Models;
using Curvature.TorchSharp;
using static TorchSharp.torch;

namespace Curvature.Benchmarks.TorchSharp;

/// <summary>One way of running a training step through the bridge (each includes the plain step's work).</summary>
public sealed class BridgeVariant
{
    private BridgeVariant(string name, string description, Action<BridgeState> step)
    {
        Name = name;
        Description = description;
        Step = step;
    }

    public string Name { get; }

    public string Description { get; }

    public Action<BridgeState> Step { get; }

    public static IReadOnlyList<BridgeVariant> All { get; } =
    [
        new("empirical, retained gradients",
            "`Record(retainOutputGradients: true)` around the forward pass (hooks copy each layer input), the user's `backward`, " +
            "`ObserveLossGradients` (copies each layer-output gradient), then the write-back: a preconditioned gradient (here a fixed buffer) copied into " +
            "each parameter's `.grad` through `TorchParameterGradients.Open()` (one copy per parameter; the gradient itself is read in place). " +
            "This is the bridge's cost for the empirical Fisher from the training backward.",
            s =>
            {
                using var scope = NewDisposeScope();
                s.Workload.Model.zero_grad();
                Tensor output;
                using (s.Capture.Record(retainOutputGradients: true))
                {
                    output = s.Workload.Model.call(s.Workload.Input);
                }

                var loss = nn.functional.cross_entropy(output, s.Workload.Targets);
                loss.backward();
                s.Capture.ObserveLossGradients(s.Observer);
                s.WriteBack();
            }),
        new("empirical, retained gradients, capture only",
            "The same without the write-back: the capture's share.",
            s =>
            {
                using var scope = NewDisposeScope();
                s.Workload.Model.zero_grad();
                Tensor output;
                using (s.Capture.Record(retainOutputGradients: true))
                {
                    output = s.Workload.Model.call(s.Workload.Input);
                }

                var loss = nn.functional.cross_entropy(output, s.Workload.Targets);
                loss.backward();
                s.Capture.ObserveLossGradients(s.Observer);
            }),
        new("empirical, autograd.grad + backward",
            "The alternative: `autograd.grad` of the loss with respect to the captured layer outputs (`ObserveVectors(loss, [1])`), then the user's " +
            "`backward` for the parameter gradients (a second backward pass), write-back as above.",
            s =>
            {
                using var scope = NewDisposeScope();
                s.Workload.Model.zero_grad();
                Tensor output;
                using (s.Capture.Record())
                {
                    output = s.Workload.Model.call(s.Workload.Input);
                }

                var loss = nn.functional.cross_entropy(output, s.Workload.Targets);
                s.Capture.ObserveVectors(loss, s.One, s.Observer);
                loss.backward();
                s.WriteBack();
            }),
        new("Monte-Carlo vectors (1 sample)",
            "`ObserveLossVectors` with one Monte-Carlo sample (model output copied, vector computed and copied into a tensor, one extra partial backward " +
            "to the layer outputs), the user's `backward`, write-back as above. The extra backward is the sampled Fisher's own work, not only the bridge's.",
            s =>
            {
                using var scope = NewDisposeScope();
                s.Workload.Model.zero_grad();
                Tensor output;
                using (s.Capture.Record())
                {
                    output = s.Workload.Model.call(s.Workload.Input);
                }

                s.Capture.ObserveLossVectors(output, null, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.MonteCarlo, s.Observer, 1, s.Random);
                var loss = nn.functional.cross_entropy(output, s.Workload.Targets);
                loss.backward();
                s.WriteBack();
            }),
    ];
}

/// <summary>What a bridged step uses: the capture, a do-nothing observer, the gradient buffer.</summary>
public sealed class BridgeState : IDisposable
{
    public BridgeState(Workload workload)
    {
        Workload = workload;
        Capture = new TorchLayerCapture<float>(workload.Model);
        Gradients = new TorchParameterGradients<float>(workload.Model, Capture.Model.ToKfacModel());
        Buffer = new float[Gradients.Length];
        One = ones(1).DetachFromDisposeScope();
    }

    public Workload Workload { get; }

    public TorchLayerCapture<float> Capture { get; }

    public TorchParameterGradients<float> Gradients { get; }

    public float[] Buffer { get; }

    public Tensor One { get; }

    public NullObserver Observer { get; } = new();

    public Random Random { get; } = new(7);

    /// <summary>Copies the buffer into every parameter's gradient, in place (one copy per parameter).</summary>
    public void WriteBack()
    {
        using var view = Gradients.Open();
        for (int i = 0; i < view.Count; i++)
        {
            var destination = view[i];
            Buffer.AsSpan(Gradients.Offset(i), destination.Length).CopyTo(destination);
        }
    }

    public void Dispose()
    {
        Capture.Dispose();
        One.Dispose();
    }
}

/// <summary>Receives the observations and does nothing (curvature maths excluded).</summary>
public sealed class NullObserver : ILayerObserver<float>
{
    public long Calls { get; private set; }

    public void Observe(string layerName, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> g, ReadOnlySpan<int> gShape) => Calls++;
}
