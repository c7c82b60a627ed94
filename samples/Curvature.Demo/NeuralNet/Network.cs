using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Demo.Data;

namespace Curvature.Demo.NeuralNet;

/// <summary>A stack of <see cref="DenseLayer"/>s with preallocated buffers for batches of up to <see cref="Capacity"/> rows.</summary>
public sealed class Network
{
    private readonly DenseLayer[] _layers;
    private readonly double[] _inputBuffer;
    private readonly CurvatureBackend _backend;

    /// <summary>Builds the layers <paramref name="inputSize"/> → sizes[0] → … with the given activations.</summary>
    public Network(int inputSize, IReadOnlyList<(int Size, Activation Activation)> layers, int capacity, CurvatureBackend backend)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers.Count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _backend = backend;
        InputSize = inputSize;
        Capacity = capacity;
        _inputBuffer = new double[capacity * inputSize];
        _layers = new DenseLayer[layers.Count];
        double[] input = _inputBuffer;
        int width = inputSize;
        for (int i = 0; i < layers.Count; i++)
        {
            _layers[i] = new DenseLayer(i, width, layers[i].Size, layers[i].Activation, capacity, input);
            input = _layers[i].OutputBuffer;
            width = layers[i].Size;
        }

        Parameters = _layers.SelectMany(l => l.Parameters()).ToArray();
        ParameterCount = Parameters.Sum(p => p.Values.Length);
    }

    /// <summary>The layers, input side first.</summary>
    public IReadOnlyList<DenseLayer> Layers => _layers;

    /// <summary>All trainable tensors (per layer: weight, then bias).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Total number of trainable scalars.</summary>
    public int ParameterCount { get; }

    /// <summary>Width of the input.</summary>
    public int InputSize { get; }

    /// <summary>Width of the output.</summary>
    public int OutputSize => _layers[^1].OutputSize;

    /// <summary>Largest batch a pass can take.</summary>
    public int Capacity { get; }

    /// <summary>The backend doing the matrix products.</summary>
    public CurvatureBackend Backend => _backend;

    /// <summary>Outputs of the last forward pass, <c>[N, OutputSize]</c>.</summary>
    public ReadOnlySpan2D<double> Outputs => _layers[^1].Output;

    /// <summary>E.g. <c>64-128(tanh)-8(linear)-64(linear)</c>.</summary>
    public string Describe() =>
        $"{InputSize}-" + string.Join("-", _layers.Select(l => $"{l.OutputSize}({ActivationFunctions.ShortName(l.Activation)})"));

    /// <summary>Draws fresh initial parameters.</summary>
    public void Initialize(DemoRandom random)
    {
        foreach (var layer in _layers)
        {
            layer.Initialize(random);
        }
    }

    /// <summary>Copies all parameters from a network of the same architecture.</summary>
    public void CopyParametersFrom(Network other)
    {
        if (other._layers.Length != _layers.Length || other.ParameterCount != ParameterCount)
        {
            throw new ArgumentException("The networks differ in architecture.", nameof(other));
        }

        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i].CopyParametersFrom(other._layers[i]);
        }
    }

    /// <summary>Runs the layers on <paramref name="inputs"/>, recording every layer's input.</summary>
    public ReadOnlySpan2D<double> Forward(ReadOnlySpan2D<double> inputs)
    {
        int rows = inputs.Height;
        if (rows < 1 || rows > Capacity || inputs.Width != InputSize)
        {
            throw new ArgumentException($"Expected [1..{Capacity}, {InputSize}] inputs, got [{rows}, {inputs.Width}].", nameof(inputs));
        }

        inputs.CopyTo(new Span2D<double>(_inputBuffer, 0, rows, InputSize, 0));
        foreach (var layer in _layers)
        {
            layer.Forward(rows, _backend);
        }

        return Outputs;
    }

    /// <summary>The buffer that receives ∂/∂(outputs) before <see cref="Backward"/>, <c>[N, OutputSize]</c>.</summary>
    internal Span2D<double> OutputGradientBuffer => _layers[^1].OutputGradientBuffer;

    /// <summary>
    /// Backpropagates the vectors in <see cref="OutputGradientBuffer"/> to every layer's <see cref="DenseLayer.OutputGradient"/>,
    /// and, if asked, into the parameter gradients.
    /// </summary>
    internal void Backward(bool parameterGradients)
    {
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            var inputGradient = i > 0 ? _layers[i - 1].OutputGradientBuffer : Span2D<double>.Empty;
            _layers[i].Backward(parameterGradients, inputGradient, _backend);
        }
    }
}
