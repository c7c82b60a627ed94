using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Demo.Data;

namespace Curvature.Demo.NeuralNet;

/// <summary>
/// A dense layer <c>y = φ(s)</c>, <c>s = a Wᵀ + b</c>, on row-major buffers, that keeps what curvature methods need:
/// its input <see cref="Input"/> (<c>a</c>, <c>[N, InputSize]</c>) and the gradient at its output
/// <see cref="OutputGradient"/> (<c>g = ∂/∂s</c>, <c>[N, OutputSize]</c>, before the nonlinearity's input is
/// reached, i.e. w.r.t. the pre-activation).
/// </summary>
/// <remarks>Matrix products go through the Curvature backend (BLAS <c>?GEMM</c> for the native ones).</remarks>
public sealed class DenseLayer
{
    private readonly double[] _weights;
    private readonly double[] _bias;
    private readonly double[] _weightGradient;
    private readonly double[] _biasGradient;
    private readonly double[] _input;          // a; shared with the previous layer's output buffer
    private readonly double[] _output;         // y = φ(s)
    private readonly double[] _outputGradient; // ∂/∂y on entry of Backward, ∂/∂s (= g) after it

    internal DenseLayer(int index, int inputSize, int outputSize, Activation activation, int capacity, double[] inputBuffer)
    {
        Index = index;
        InputSize = inputSize;
        OutputSize = outputSize;
        Activation = activation;
        Capacity = capacity;
        _weights = new double[outputSize * inputSize];
        _bias = new double[outputSize];
        _weightGradient = new double[outputSize * inputSize];
        _biasGradient = new double[outputSize];
        _input = inputBuffer;
        _output = new double[capacity * outputSize];
        _outputGradient = new double[capacity * outputSize];
    }

    /// <summary>Position of the layer in its network (0 = first).</summary>
    public int Index { get; }

    /// <summary>Width of the input, <c>D_in</c>.</summary>
    public int InputSize { get; }

    /// <summary>Width of the output, <c>D_out</c>.</summary>
    public int OutputSize { get; }

    /// <summary>The nonlinearity applied after the affine map.</summary>
    public Activation Activation { get; }

    /// <summary>Largest batch the layer's buffers hold.</summary>
    public int Capacity { get; }

    /// <summary>Rows of the last forward pass.</summary>
    public int Rows { get; private set; }

    /// <summary>The weight matrix <c>W</c>, <c>[D_out, D_in]</c>.</summary>
    public Span2D<double> Weights => new(_weights, OutputSize, InputSize);

    /// <summary>The bias <c>b</c>, length <c>D_out</c>.</summary>
    public Span<double> Bias => _bias;

    /// <summary><c>∂L/∂W</c> of the last <see cref="Model.ComputeLossAndGradients"/> call.</summary>
    public ReadOnlySpan2D<double> WeightGradient => new(_weightGradient, OutputSize, InputSize);

    /// <summary><c>∂L/∂b</c> of the last <see cref="Model.ComputeLossAndGradients"/> call.</summary>
    public ReadOnlySpan<double> BiasGradient => _biasGradient;

    /// <summary>The layer input <c>a</c> of the last forward pass, <c>[N, D_in]</c>.</summary>
    public ReadOnlySpan2D<double> Input => new(_input, 0, Rows, InputSize, 0);

    /// <summary>The layer output <c>φ(s)</c> of the last forward pass, <c>[N, D_out]</c>.</summary>
    public ReadOnlySpan2D<double> Output => new(_output, 0, Rows, OutputSize, 0);

    /// <summary>The gradient w.r.t. the pre-activation <c>s</c> of the last backward pass, <c>[N, D_out]</c>: of the
    /// loss after <see cref="Model.ComputeLossAndGradients"/>, of the supplied vectors after
    /// <see cref="Model.BackpropagateOutputVectors"/>.</summary>
    public ReadOnlySpan2D<double> OutputGradient => new(_outputGradient, 0, Rows, OutputSize, 0);

    internal double[] OutputBuffer => _output;

    internal Span2D<double> OutputGradientBuffer => new(_outputGradient, 0, Rows, OutputSize, 0);

    internal IEnumerable<Parameter> Parameters()
    {
        yield return new Parameter($"layer{Index + 1}.weight", _weights, _weightGradient);
        yield return new Parameter($"layer{Index + 1}.bias", _bias, _biasGradient);
    }

    /// <summary>Draws initial weights (He for ReLU, LeCun otherwise) and zero biases.</summary>
    internal void Initialize(DemoRandom random)
    {
        double gain = Activation == Activation.Relu ? 2.0 : 1.0;
        random.FillGaussian(_weights, Math.Sqrt(gain / InputSize));
        Array.Clear(_bias);
    }

    internal void CopyParametersFrom(DenseLayer other)
    {
        other._weights.CopyTo(_weights, 0);
        other._bias.CopyTo(_bias, 0);
    }

    internal void Forward(int rows, CurvatureBackend backend)
    {
        Rows = rows;
        var output = new Span2D<double>(_output, 0, rows, OutputSize, 0);
        backend.MatrixMultiply<double>(Input, Transpose.None, new ReadOnlySpan2D<double>(_weights, OutputSize, InputSize), Transpose.Transpose, output, 1.0, 0.0);
        for (int r = 0; r < rows; r++)
        {
            var row = output.GetRowSpan(r);
            for (int j = 0; j < OutputSize; j++)
            {
                row[j] += _bias[j];
            }
        }

        ActivationFunctions.Apply(Activation, _output.AsSpan(0, rows * OutputSize));
    }

    /// <summary>
    /// Turns ∂/∂y (in the output-gradient buffer) into g = ∂/∂s in place, optionally accumulates parameter gradients,
    /// and writes ∂/∂a into <paramref name="inputGradient"/> unless it is empty.
    /// </summary>
    internal void Backward(bool parameterGradients, Span2D<double> inputGradient, CurvatureBackend backend)
    {
        int n = Rows * OutputSize;
        ActivationFunctions.MultiplyByDerivative(Activation, _output.AsSpan(0, n), _outputGradient.AsSpan(0, n));
        var g = OutputGradient;
        if (parameterGradients)
        {
            // ∂W = gᵀ a, ∂b = Σ_rows g.
            backend.MatrixMultiply<double>(g, Transpose.Transpose, Input, Transpose.None, new Span2D<double>(_weightGradient, OutputSize, InputSize), 1.0, 0.0);
            Array.Clear(_biasGradient);
            for (int r = 0; r < Rows; r++)
            {
                var row = g.GetRowSpan(r);
                for (int j = 0; j < OutputSize; j++)
                {
                    _biasGradient[j] += row[j];
                }
            }
        }

        if (!inputGradient.IsEmpty)
        {
            // ∂a = g W.
            backend.MatrixMultiply<double>(g, Transpose.None, new ReadOnlySpan2D<double>(_weights, OutputSize, InputSize), Transpose.None, inputGradient, 1.0, 0.0);
        }
    }
}
