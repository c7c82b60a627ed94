using System.Numerics;
using Curvature.Models;
using Curvature.Kfac;
using Curvature.TorchSharp.Internals;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Curvature.TorchSharp;

/// <summary>
/// Moves the gradients (<c>.grad</c>) of chosen parameters of a TorchSharp module into one flat buffer (the parameters'
/// row-major tensors one after the other, in the given order) and writes such a buffer back into <c>.grad</c>, so a
/// curvature method can precondition the gradients and any torch optimizer can take the step. One copy per parameter
/// each way.
/// </summary>
/// <typeparam name="T"><see cref="float"/> for float32 modules, <see cref="double"/> for float64 modules.</typeparam>
public sealed class TorchParameterGradients<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter[] _parameters;
    private readonly int[] _offsets;
    private readonly int[] _lengths;
    private readonly Tensor?[] _open;
    private bool _isOpen;

    /// <summary>Selects parameters of <paramref name="module"/> by their <c>named_parameters()</c> names.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    /// <exception cref="ArgumentException">A name is unknown or repeated, or a parameter is not of <typeparamref name="T"/>'s element type.</exception>
    public TorchParameterGradients(nn.Module module, IEnumerable<string> parameterNames)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(parameterNames);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"The TorchSharp bridge works on float32 (float) and float64 (double) tensors, not {typeof(T).Name}.");
        }

        var all = module.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        Names = [.. parameterNames];
        if (Names.Distinct(StringComparer.Ordinal).Count() != Names.Count)
        {
            throw new ArgumentException("Parameter names must not repeat.", nameof(parameterNames));
        }

        _parameters = new Parameter[Names.Count];
        _offsets = new int[Names.Count];
        _lengths = new int[Names.Count];
        _open = new Tensor?[Names.Count];
        int offset = 0;
        for (int i = 0; i < Names.Count; i++)
        {
            if (!all.TryGetValue(Names[i], out var p))
            {
                throw new ArgumentException($"The module has no parameter named '{Names[i]}'.", nameof(parameterNames));
            }

            TensorCopy.CheckFloating<T>(p, $"Parameter '{Names[i]}'");
            _parameters[i] = p;
            _offsets[i] = offset;
            _lengths[i] = checked((int)p.numel());
            offset = checked(offset + _lengths[i]);
        }

        Length = offset;
    }

    /// <summary>The parameters of a K-FAC model, in its flat-vector order (<see cref="ModelSpec.Parameters"/>).</summary>
    public TorchParameterGradients(nn.Module module, ModelSpec model)
        : this(module, (model ?? throw new ArgumentNullException(nameof(model))).Parameters.Select(p => p.Name))
    {
    }

    /// <summary>The parameter names in buffer order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Total number of values (the buffer length).</summary>
    public int Length { get; }

    /// <summary>Where parameter <paramref name="index"/> starts in the buffer.</summary>
    public int Offset(int index) => _offsets[index];

    /// <summary>
    /// Opens every parameter's <c>.grad</c> (created as zeros where missing) for reading and writing in place, without
    /// copies: a preconditioner can read the gradient and write its result straight into it. The spans stay valid until the
    /// view is disposed (it holds its own handles on the tensors, so a <c>zero_grad</c> meanwhile cannot free them).
    /// Values written through the view are not checked.
    /// </summary>
    /// <exception cref="InvalidOperationException">A view is already open, or a gradient is not contiguous.</exception>
    public GradientView Open()
    {
        if (_isOpen)
        {
            throw new InvalidOperationException("A gradient view is already open: dispose it first.");
        }

        try
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                _open[i] = GradientOf(i);
                if (!_open[i]!.is_contiguous())
                {
                    throw new InvalidOperationException($"The gradient of '{Names[i]}' is not contiguous; use {nameof(Read)} and {nameof(Write)}.");
                }
            }
        }
        catch
        {
            Close();
            throw;
        }

        _isOpen = true;
        return new GradientView(this);
    }

    /// <summary>Copies every parameter's <c>.grad</c> into <paramref name="destination"/> (zeros for a parameter without one).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not hold <see cref="Length"/> values.</exception>
    public void Read(Span<T> destination)
    {
        if (destination.Length != Length)
        {
            throw new ArgumentException($"The destination must hold {Length} values, but it holds {destination.Length}.", nameof(destination));
        }

        for (int i = 0; i < _parameters.Length; i++)
        {
            Span<T> part = destination.Slice(_offsets[i], _lengths[i]);
            using var grad = _parameters[i].grad;
            if (grad is null)
            {
                part.Clear();
            }
            else
            {
                TensorCopy.CopyTo(grad, part, T.One);
            }
        }
    }

    /// <summary>Writes <paramref name="source"/> into every parameter's <c>.grad</c> (creating it where missing).</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> does not hold <see cref="Length"/> values, or holds a non-finite value; no gradient was changed.</exception>
    public void Write(ReadOnlySpan<T> source)
    {
        if (source.Length != Length)
        {
            throw new ArgumentException($"The source must hold {Length} values, but it holds {source.Length}.", nameof(source));
        }

        if (!TensorCopy.AllFinite(source))
        {
            throw new ArgumentException("The gradients contain NaN or infinity; no gradient was changed.", nameof(source));
        }

        for (int i = 0; i < _parameters.Length; i++)
        {
            using (var grad = GradientOf(i))
            {
                if (!grad.is_contiguous())
                {
                    using var contiguous = grad.contiguous();
                    TensorCopy.CopyFrom(source.Slice(_offsets[i], _lengths[i]), contiguous);
                    using var noGrad = no_grad();
                    grad.copy_(contiguous);
                }
                else
                {
                    TensorCopy.CopyFrom(source.Slice(_offsets[i], _lengths[i]), grad);
                }
            }
        }
    }

    /// <summary>A handle on parameter <paramref name="index"/>'s gradient, created as zeros when missing.</summary>
    private Tensor GradientOf(int index)
    {
        var p = _parameters[index];
        var grad = p.grad;
        if (grad is null)
        {
            grad = zeros_like(p).DetachFromDisposeScope();
            p.grad = grad;
        }

        return grad.DetachFromDisposeScope();
    }

    private void Close()
    {
        for (int i = 0; i < _open.Length; i++)
        {
            _open[i]?.Dispose();
            _open[i] = null;
        }

        _isOpen = false;
    }

    /// <summary>The parameters' gradients, in place (see <see cref="Open"/>); dispose it to release them.</summary>
    public readonly ref struct GradientView
    {
        private readonly TorchParameterGradients<T> _owner;

        internal GradientView(TorchParameterGradients<T> owner) => _owner = owner;

        /// <summary>Number of parameters.</summary>
        public int Count => _owner._parameters.Length;

        /// <summary>The gradient of parameter <paramref name="index"/> (row-major, <see cref="Names"/> order), in place.</summary>
        public Span<T> this[int index] => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(
            (_owner._open[index] ?? throw new ObjectDisposedException(nameof(GradientView))).bytes);

        /// <summary>Releases the handles on the gradients.</summary>
        public void Dispose() => _owner?.Close();
    }
}
