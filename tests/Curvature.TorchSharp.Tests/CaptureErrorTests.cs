using Curvature.Kfac;
using Curvature.Models;
using Curvature.Loss;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Modules = global::TorchSharp.Modules;

namespace Curvature.TorchSharp.Tests;

/// <summary>Bad use gets a clear, typed error, and nothing is observed from a rejected call.</summary>
public class CaptureErrorTests
{
    [Fact]
    public void ElementTypesOtherThanFloatAndDouble_AreRejectedAtConstruction()
    {
        var e = Assert.Throws<NotSupportedException>(() => new TorchLayerCapture<Half>(Mlp()));
        Assert.Contains("Half", e.Message);
    }

    [Fact]
    public void AModuleOfAnotherElementType_IsRejectedAtConstruction()
    {
        var e = Assert.Throws<ArgumentException>(() => new TorchLayerCapture<float>(Mlp().to(ScalarType.Float64)));
        Assert.Contains("Float64", e.Message);
    }

    [Fact]
    public void UnknownLayerNames_AndModulesWithoutSupportedLayers_AreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new TorchLayerCapture<float>(Mlp(), ["0", "7"]));
        Assert.Contains("'7'", e.Message);
        Assert.Throws<ArgumentException>(() => new TorchLayerCapture<float>(nn.Sequential(("r", nn.ReLU()))));
    }

    [Fact]
    public void ObservingWithoutARecording_Throws()
    {
        using var capture = new TorchLayerCapture<float>(Mlp());
        using var output = zeros(2, 3);
        Assert.Throws<InvalidOperationException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, new RecordingObserver<float>()));
        Assert.Throws<InvalidOperationException>(() => capture.ObserveLossGradients(new RecordingObserver<float>()));
    }

    [Fact]
    public void ALayerThatRunsTwice_OrNotAtAll_IsReported()
    {
        var twice = new Twice();
        using var capture = new TorchLayerCapture<float>(twice);
        using var x = randn(4, 3);
        Tensor output;
        using (capture.Record())
        {
            output = twice.call(x);
        }

        var e = Assert.Throws<InvalidOperationException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, new RecordingObserver<float>()));
        Assert.Contains("ran 2 times", e.Message);

        using (capture.Record())
        {
            output = twice.Unused(x);
        }

        e = Assert.Throws<InvalidOperationException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, new RecordingObserver<float>()));
        Assert.Contains("did not run", e.Message);
    }

    [Fact]
    public void TrainingGradients_NeedRetainedGradientsAndABackwardPass()
    {
        var model = Mlp();
        using var capture = new TorchLayerCapture<float>(model);
        using var x = randn(4, 5);
        using (capture.Record())
        {
            model.call(x).Dispose();
        }

        Assert.Contains("retainOutputGradients", Assert.Throws<InvalidOperationException>(() => capture.ObserveLossGradients(new RecordingObserver<float>())).Message);
        using (capture.Record(retainOutputGradients: true))
        {
            model.call(x).Dispose();
        }

        Assert.Contains("loss.backward()", Assert.Throws<InvalidOperationException>(() => capture.ObserveLossGradients(new RecordingObserver<float>())).Message);
        Assert.Throws<ArgumentException>(() => capture.ObserveLossGradients(new RecordingObserver<float>(), double.NaN));
    }

    [Fact]
    public void ANonFiniteValueInAnyLayer_ReachesNoObserver_AndLeavesTheFactorsUnchanged()
    {
        var model = nn.Sequential(("0", nn.Linear(3, 4)), ("blowup", new Overflow()), ("2", nn.Linear(4, 2)), ("finite", new Finite())).to(ScalarType.Float64);
        using var capture = new TorchLayerCapture<double>(model);
        var builder = new KfacFactorBuilder<double>(new Curvature.Backends.Managed.ManagedBackend(), capture.Model.ToModelSpec(), new KfacOptions { NumData = 4 });
        using var x = randn([4, 3], ScalarType.Float64);
        Tensor output;
        using (capture.Record())
        {
            output = model.call(x);
        }

        var observer = new RecordingObserver<double>();
        var e = Assert.Throws<ArgumentException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Sum, FisherType.ForwardOnly, observer));
        Assert.Contains("'2'", e.Message);
        Assert.Empty(observer.Order); // layer "0" is finite, but nothing was delivered
        Assert.Throws<ArgumentException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Sum, FisherType.ForwardOnly, new KfacFactorBuilderObserver<double>(builder)));
        Assert.All(builder.Blocks, b => Assert.All(b.InputCovariance.ToArray().Cast<double>(), v => Assert.Equal(0.0, v)));
    }

    [Fact]
    public void VectorsAndTargetsOfTheWrongShapeOrType_AreRejected()
    {
        var model = Mlp();
        using var capture = new TorchLayerCapture<float>(model);
        using var x = randn(4, 5);
        Tensor output;
        using (capture.Record())
        {
            output = model.call(x);
        }

        var observer = new RecordingObserver<float>();
        using var wrongShape = zeros(2, 4, 4);
        Assert.Throws<ArgumentException>(() => capture.ObserveVectors(output, wrongShape, observer));
        using var wrongType = zeros([2, 4, 3], ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => capture.ObserveVectors(output, wrongType, observer));
        using var floatClasses = zeros(4);
        Assert.Throws<ArgumentException>(() => capture.ObserveLossVectors(output, floatClasses, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Empirical, observer));
        using var outOfRange = tensor(new long[] { 0, 1, 2, 3 });
        Assert.Throws<ArgumentException>(() => capture.ObserveLossVectors(output, outOfRange, LossFunction.CrossEntropy, LossReduction.Mean, FisherType.Empirical, observer));
        using var mseTargets = zeros(4, 2);
        Assert.Throws<ArgumentException>(() => capture.ObserveLossVectors(output, mseTargets, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Empirical, observer));
        using var doubleOutput = zeros([4, 3], ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => capture.ObserveLossVectors(doubleOutput, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, observer));
        Assert.Empty(observer.Order);
    }

    [Fact]
    public void AnInputTheHookCannotCapture_FailsTheForwardPass_AndTheRecording()
    {
        var model = nn.Sequential(("0", nn.Linear(3, 2)), ("1", nn.Linear(2, 2)));
        using var capture = new TorchLayerCapture<float>(model);
        using var x = randn([4, 3], ScalarType.Float64);
        using (capture.Record())
        {
            model.to(ScalarType.Float64); // changed inside the recording: the hook meets float64 tensors
            var e = Assert.Throws<ArgumentException>(() => model.call(x));
            Assert.Contains("Float64", e.Message);
        }

        using var output = zeros([4, 2], ScalarType.Float64);
        var observer = new RecordingObserver<float>();
        var failed = Assert.Throws<InvalidOperationException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, observer));
        Assert.Contains("record again", failed.Message);
        Assert.Empty(observer.Order);
        Assert.Contains("Float64", Assert.Throws<ArgumentException>(() => capture.Record()).Message);
    }

    [Fact]
    public void AForwardPassWithoutGradients_CannotBeBackpropagated()
    {
        var model = Mlp();
        using var capture = new TorchLayerCapture<float>(model);
        using var x = randn(4, 5);
        Tensor output;
        using (no_grad())
        using (capture.Record())
        {
            output = model.call(x);
        }

        var e = Assert.Throws<InvalidOperationException>(() => capture.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, new RecordingObserver<float>()));
        Assert.Contains("no_grad", e.Message);
    }

    [Fact]
    public void AfterDispose_TheHooksAreGone_AndRecordingThrows()
    {
        var model = Mlp();
        var capture = new TorchLayerCapture<float>(model);
        capture.Dispose();
        using var x = randn(4, 5);
        model.call(x).Dispose();
        Assert.Throws<ObjectDisposedException>(() => capture.Record());

        // A new capture on the same module works (the old hooks no longer fire).
        using var again = new TorchLayerCapture<float>(model);
        Tensor output;
        using (again.Record())
        {
            output = model.call(x);
        }

        var observer = new RecordingObserver<float>();
        again.ObserveLossVectors(output, null, LossFunction.MeanSquaredError, LossReduction.Mean, FisherType.Type2, observer);
        Assert.Equal(["0", "2"], observer.Order);
    }

    private static nn.Module<Tensor, Tensor> Mlp() => nn.Sequential(("0", nn.Linear(5, 4)), ("1", nn.ReLU()), ("2", nn.Linear(4, 3)));

    /// <summary>Applies one Linear layer twice (or, through <see cref="Unused"/>, not at all).</summary>
    private sealed class Twice : nn.Module<Tensor, Tensor>
    {
        private readonly Modules.Linear fc = nn.Linear(3, 3);

        public Twice()
            : base(nameof(Twice)) => RegisterComponents();

        public override Tensor forward(Tensor input) => fc.call(fc.call(input));

        public Tensor Unused(Tensor input) => input * 2;
    }

    /// <summary>Replaces non-finite values by 0 (so the model output is finite while an inner layer's input is not).</summary>
    private sealed class Finite : nn.Module<Tensor, Tensor>
    {
        public Finite()
            : base(nameof(Finite))
        {
        }

        public override Tensor forward(Tensor input) => input.nan_to_num(0, 0, 0);
    }

    /// <summary>Overflows to infinity (float64).</summary>
    private sealed class Overflow : nn.Module<Tensor, Tensor>
    {
        public Overflow()
            : base(nameof(Overflow))
        {
        }

        public override Tensor forward(Tensor input) => input * 1e200 * 1e200;
    }
}
