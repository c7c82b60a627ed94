using System.Numerics;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Parameters;
using CommunityToolkit.HighPerformance;

namespace Curvature.Tests.Training;

/// <summary>A row-major tensor of the tiny test networks.</summary>
internal sealed class Tensor<T>(T[] data, int[] shape)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public T[] Data { get; } = data;

    public int[] Shape { get; } = shape;

    public static Tensor<T> Zeros(params int[] shape) => new(new T[shape.Aggregate(1, (a, b) => a * b)], shape);
}

/// <summary>
/// One layer of a tiny network with a hand-written forward and backward pass, written for clarity, not speed. Layers
/// with parameters keep their values and gradients in a <see cref="ParameterSet"/> and remember what an optimizer
/// observes: the input <c>a</c> (for norms the normalised input) and the gradient at the output <c>g</c>.
/// </summary>
internal abstract class Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The layer spec for Curvature (null for layers without parameters).</summary>
    public virtual LayerSpec? Spec => null;

    /// <summary>What the optimizer observes as the layer input.</summary>
    public Tensor<T>? Observed { get; protected set; }

    /// <summary>The gradients at the output of each backward pass since <see cref="ClearOutputGradients"/>.</summary>
    public List<T[]> OutputGradients { get; } = [];

    public int[] OutputShape { get; protected set; } = [];

    public abstract Tensor<T> Forward(Tensor<T> x);

    /// <summary>Backpropagates; accumulates parameter gradients only when <paramref name="accumulate"/>.</summary>
    public abstract Tensor<T> Backward(Tensor<T> gradOut, bool accumulate);

    public virtual void AddParameters(ParameterSet values, ParameterSet grads, Random rng)
    {
    }

    public void ClearOutputGradients() => OutputGradients.Clear();

    protected static T R(Random rng, double scale) => T.CreateChecked(((2 * rng.NextDouble()) - 1) * scale);
}

internal sealed class Linear<T>(string name, int inFeatures, int outFeatures, bool bias = true, WeightSharing? sharing = null) : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _w = [], _b = [], _dw = [], _db = [];
    private Tensor<T>? _x;

    public override LayerSpec Spec { get; } = LayerSpec.Linear(name, inFeatures, outFeatures, bias, sharing);

    public override void AddParameters(ParameterSet values, ParameterSet grads, Random rng)
    {
        double s = 1 / Math.Sqrt(inFeatures);
        _w = [.. Enumerable.Range(0, inFeatures * outFeatures).Select(_ => R(rng, s))];
        _dw = new T[_w.Length];
        values.Add(name + ".weight", _w, outFeatures, inFeatures);
        grads.Add(name + ".weight", _dw, outFeatures, inFeatures);
        if (bias)
        {
            _b = [.. Enumerable.Range(0, outFeatures).Select(_ => R(rng, s))];
            _db = new T[outFeatures];
            values.Add(name + ".bias", _b, outFeatures);
            grads.Add(name + ".bias", _db, outFeatures);
        }
    }

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _x = x;
        Observed = x;
        int rows = x.Data.Length / inFeatures;
        var y = Tensor<T>.Zeros([.. x.Shape[..^1], outFeatures]);
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                T sum = bias ? _b[o] : T.Zero;
                for (int i = 0; i < inFeatures; i++)
                {
                    sum += _w[(o * inFeatures) + i] * x.Data[(r * inFeatures) + i];
                }

                y.Data[(r * outFeatures) + o] = sum;
            }
        }

        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        OutputGradients.Add(gradOut.Data);
        var x = _x!;
        int rows = x.Data.Length / inFeatures;
        var dx = Tensor<T>.Zeros(x.Shape);
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                T g = gradOut.Data[(r * outFeatures) + o];
                if (accumulate)
                {
                    if (bias)
                    {
                        _db[o] += g;
                    }

                    for (int i = 0; i < inFeatures; i++)
                    {
                        _dw[(o * inFeatures) + i] += g * x.Data[(r * inFeatures) + i];
                    }
                }

                for (int i = 0; i < inFeatures; i++)
                {
                    dx.Data[(r * inFeatures) + i] += g * _w[(o * inFeatures) + i];
                }
            }
        }

        return dx;
    }
}

/// <summary>A 2-D convolution (groups 1) through Curvature's <see cref="Im2Col"/> patches: <c>y[n, c, l] = Σ_f W[c, f] P_n[l, f] + b_c</c>.</summary>
internal sealed class Conv2d<T>(string name, Conv2dGeometry geometry, bool bias = true) : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _w = [], _b = [], _dw = [], _db = [];
    private Tensor<T>? _x;
    private T[][] _patches = [];

    public override LayerSpec Spec { get; } = LayerSpec.Conv2d(name, geometry, bias);

    public override void AddParameters(ParameterSet values, ParameterSet grads, Random rng)
    {
        int f = geometry.PatchSize, c = geometry.OutChannels;
        double s = 1 / Math.Sqrt(f);
        _w = [.. Enumerable.Range(0, f * c).Select(_ => R(rng, s))];
        _dw = new T[_w.Length];
        int[] shape = [c, geometry.InChannels, geometry.KernelHeight, geometry.KernelWidth];
        values.Add(name + ".weight", _w, shape);
        grads.Add(name + ".weight", _dw, shape);
        if (bias)
        {
            _b = [.. Enumerable.Range(0, c).Select(_ => R(rng, s))];
            _db = new T[c];
            values.Add(name + ".bias", _b, c);
            grads.Add(name + ".bias", _db, c);
        }
    }

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _x = x;
        Observed = x;
        int n = x.Shape[0], h = x.Shape[2], w = x.Shape[3], oh = geometry.OutputHeight(h), ow = geometry.OutputWidth(w), l = oh * ow;
        int f = geometry.PatchSize, c = geometry.OutChannels, image = geometry.InChannels * h * w;
        var y = Tensor<T>.Zeros(n, c, oh, ow);
        _patches = new T[n][];
        for (int i = 0; i < n; i++)
        {
            _patches[i] = new T[l * f];
            Im2Col.Unfold<T>(x.Data.AsSpan(i * image, image), h, w, geometry, new Span2D<T>(_patches[i], l, f));
            for (int co = 0; co < c; co++)
            {
                for (int p = 0; p < l; p++)
                {
                    T sum = bias ? _b[co] : T.Zero;
                    for (int k = 0; k < f; k++)
                    {
                        sum += _w[(co * f) + k] * _patches[i][(p * f) + k];
                    }

                    y.Data[(((i * c) + co) * l) + p] = sum;
                }
            }
        }

        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        OutputGradients.Add(gradOut.Data);
        var x = _x!;
        int n = x.Shape[0], h = x.Shape[2], w = x.Shape[3], oh = geometry.OutputHeight(h), ow = geometry.OutputWidth(w), l = oh * ow;
        int f = geometry.PatchSize, c = geometry.OutChannels, kh = geometry.KernelHeight, kw = geometry.KernelWidth;
        var dx = Tensor<T>.Zeros(x.Shape);
        for (int i = 0; i < n; i++)
        {
            for (int co = 0; co < c; co++)
            {
                for (int p = 0; p < l; p++)
                {
                    T g = gradOut.Data[(((i * c) + co) * l) + p];
                    if (accumulate)
                    {
                        if (bias)
                        {
                            _db[co] += g;
                        }

                        for (int k = 0; k < f; k++)
                        {
                            _dw[(co * f) + k] += g * _patches[i][(p * f) + k];
                        }
                    }

                    // col2im: patch feature k = (ci·kh + a)·kw + b reads x[ci, y·sh + a·dh − ph, x·sw + b·dw − pw].
                    int py = p / ow, px = p % ow;
                    for (int k = 0; k < f; k++)
                    {
                        int ci = k / (kh * kw), a = k / kw % kh, b = k % kw;
                        int r = (py * geometry.StrideHeight) + (a * geometry.DilationHeight) - geometry.PaddingHeight;
                        int col = (px * geometry.StrideWidth) + (b * geometry.DilationWidth) - geometry.PaddingWidth;
                        if ((uint)r < (uint)h && (uint)col < (uint)w)
                        {
                            dx.Data[(((i * geometry.InChannels) + ci) * h * w) + (r * w) + col] += g * _w[(co * f) + k];
                        }
                    }
                }
            }
        }

        return dx;
    }
}

/// <summary>Layer normalisation over the last axis with scale and shift; the optimizer observes the normalised input.</summary>
internal sealed class LayerNorm<T>(string name, int features) : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _gamma = [], _beta = [], _dgamma = [], _dbeta = [];
    private T[] _inverseStd = [];
    private Tensor<T>? _xhat;

    public override LayerSpec Spec { get; } = LayerSpec.LayerNorm(name, features);

    public override void AddParameters(ParameterSet values, ParameterSet grads, Random rng)
    {
        _gamma = [.. Enumerable.Repeat(T.One, features)];
        _beta = new T[features];
        _dgamma = new T[features];
        _dbeta = new T[features];
        values.Add(name + ".weight", _gamma, features);
        grads.Add(name + ".weight", _dgamma, features);
        values.Add(name + ".bias", _beta, features);
        grads.Add(name + ".bias", _dbeta, features);
    }

    public override Tensor<T> Forward(Tensor<T> x)
    {
        int rows = x.Data.Length / features;
        _xhat = Tensor<T>.Zeros(x.Shape);
        _inverseStd = new T[rows];
        var y = Tensor<T>.Zeros(x.Shape);
        for (int r = 0; r < rows; r++)
        {
            var row = x.Data.AsSpan(r * features, features);
            T mean = T.Zero;
            foreach (T v in row)
            {
                mean += v;
            }

            mean /= T.CreateChecked(features);
            T variance = T.Zero;
            foreach (T v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            variance /= T.CreateChecked(features);
            _inverseStd[r] = T.One / T.Sqrt(variance + T.CreateChecked(1e-5));
            for (int j = 0; j < features; j++)
            {
                T xh = (row[j] - mean) * _inverseStd[r];
                _xhat.Data[(r * features) + j] = xh;
                y.Data[(r * features) + j] = (_gamma[j] * xh) + _beta[j];
            }
        }

        Observed = _xhat;
        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        OutputGradients.Add(gradOut.Data);
        int rows = gradOut.Data.Length / features;
        var dx = Tensor<T>.Zeros(gradOut.Shape);
        T d = T.CreateChecked(features);
        for (int r = 0; r < rows; r++)
        {
            T sumDy = T.Zero, sumDyXhat = T.Zero;
            for (int j = 0; j < features; j++)
            {
                T g = gradOut.Data[(r * features) + j], xh = _xhat!.Data[(r * features) + j];
                if (accumulate)
                {
                    _dgamma[j] += g * xh;
                    _dbeta[j] += g;
                }

                T dy = g * _gamma[j];
                sumDy += dy;
                sumDyXhat += dy * xh;
            }

            for (int j = 0; j < features; j++)
            {
                T dy = gradOut.Data[(r * features) + j] * _gamma[j], xh = _xhat!.Data[(r * features) + j];
                dx.Data[(r * features) + j] = _inverseStd[r] * (dy - (sumDy / d) - (xh * sumDyXhat / d));
            }
        }

        return dx;
    }
}

/// <summary>An embedding table looked up by integer indices (held as values of T).</summary>
internal sealed class Embedding<T>(string name, int vocabulary, int size) : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _w = [], _dw = [];
    private Tensor<T>? _indices;

    public override LayerSpec Spec { get; } = LayerSpec.Embedding(name, vocabulary, size);

    public override void AddParameters(ParameterSet values, ParameterSet grads, Random rng)
    {
        _w = [.. Enumerable.Range(0, vocabulary * size).Select(_ => R(rng, 1))];
        _dw = new T[_w.Length];
        values.Add(name + ".weight", _w, vocabulary, size);
        grads.Add(name + ".weight", _dw, vocabulary, size);
    }

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _indices = x;
        Observed = x;
        var y = Tensor<T>.Zeros([.. x.Shape, size]);
        for (int p = 0; p < x.Data.Length; p++)
        {
            _w.AsSpan(int.CreateTruncating(x.Data[p]) * size, size).CopyTo(y.Data.AsSpan(p * size, size));
        }

        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        OutputGradients.Add(gradOut.Data);
        if (accumulate)
        {
            for (int p = 0; p < _indices!.Data.Length; p++)
            {
                int row = int.CreateTruncating(_indices.Data[p]);
                for (int j = 0; j < size; j++)
                {
                    _dw[(row * size) + j] += gradOut.Data[(p * size) + j];
                }
            }
        }

        return Tensor<T>.Zeros(_indices!.Shape);
    }
}

/// <summary>A plain parameter added to the input (e.g. a learned position embedding <c>[S, D]</c> broadcast over the batch).</summary>
internal sealed class AddParameter<T>(string name, params int[] shape) : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _p = [], _dp = [];

    public override LayerSpec Spec { get; } = LayerSpec.Parameter(name, shape);

    public override void AddParameters(ParameterSet values, ParameterSet grads, Random rng)
    {
        _p = [.. Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => R(rng, 0.1))];
        _dp = new T[_p.Length];
        values.Add(name, _p, shape);
        grads.Add(name, _dp, shape);
    }

    public override Tensor<T> Forward(Tensor<T> x)
    {
        var y = new Tensor<T>((T[])x.Data.Clone(), x.Shape);
        for (int i = 0; i < y.Data.Length; i++)
        {
            y.Data[i] += _p[i % _p.Length];
        }

        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        if (accumulate)
        {
            for (int i = 0; i < gradOut.Data.Length; i++)
            {
                _dp[i % _dp.Length] += gradOut.Data[i];
            }
        }

        return gradOut;
    }
}

internal enum ActivationKind
{
    Tanh,
    Relu,
    Sigmoid,
}

internal sealed class Activation<T>(ActivationKind kind) : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _y;

    public override Tensor<T> Forward(Tensor<T> x)
    {
        var y = Tensor<T>.Zeros(x.Shape);
        for (int i = 0; i < x.Data.Length; i++)
        {
            T v = x.Data[i];
            y.Data[i] = kind switch
            {
                ActivationKind.Tanh => T.Tanh(v),
                ActivationKind.Relu => T.Max(v, T.Zero),
                _ => T.One / (T.One + T.Exp(-v)),
            };
        }

        _y = y;
        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        var dx = Tensor<T>.Zeros(gradOut.Shape);
        for (int i = 0; i < dx.Data.Length; i++)
        {
            T y = _y!.Data[i];
            T slope = kind switch
            {
                ActivationKind.Tanh => T.One - (y * y),
                ActivationKind.Relu => y > T.Zero ? T.One : T.Zero,
                _ => y * (T.One - y),
            };
            dx.Data[i] = gradOut.Data[i] * slope;
        }

        return dx;
    }
}

/// <summary>Reshapes <c>[N, …]</c> to <c>[N, rest]</c>.</summary>
internal sealed class Flatten<T> : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[] _shape = [];

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _shape = x.Shape;
        OutputShape = [x.Shape[0], x.Data.Length / x.Shape[0]];
        return new Tensor<T>(x.Data, OutputShape);
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate) => new(gradOut.Data, _shape);
}

/// <summary>The mean over the sequence axis: <c>[N, S, D]</c> to <c>[N, D]</c>.</summary>
internal sealed class MeanOverSequence<T> : Module<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[] _shape = [];

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _shape = x.Shape;
        int n = x.Shape[0], s = x.Shape[1], d = x.Shape[2];
        var y = Tensor<T>.Zeros(n, d);
        T inv = T.One / T.CreateChecked(s);
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < s; p++)
            {
                for (int j = 0; j < d; j++)
                {
                    y.Data[(i * d) + j] += x.Data[(((i * s) + p) * d) + j] * inv;
                }
            }
        }

        OutputShape = y.Shape;
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> gradOut, bool accumulate)
    {
        int n = _shape[0], s = _shape[1], d = _shape[2];
        var dx = Tensor<T>.Zeros(_shape);
        T inv = T.One / T.CreateChecked(s);
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < s; p++)
            {
                for (int j = 0; j < d; j++)
                {
                    dx.Data[(((i * s) + p) * d) + j] = gradOut.Data[(i * d) + j] * inv;
                }
            }
        }

        return dx;
    }
}
