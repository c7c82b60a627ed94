using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Internals;

/// <summary>
/// One trainable parameter of a TorchSharp module bound to a curvature optimizer: its values as memory over the tensor's
/// own data (no copy; the optimizer's step writes there), and its gradient as a Curvature-owned buffer filled from
/// <c>.grad</c> (one copy per step) and, for preconditioning, written back into <c>.grad</c> (one copy per step).
/// </summary>
/// <remarks>
/// The binding keeps its own handle on the tensor (a second reference to the same libtorch tensor, so the memory stays
/// alive while bound) and remembers the data pointer, element type, device and shape it was bound with.
/// <see cref="Verify"/> checks them and that the module still holds this very parameter; <see cref="GetSpan"/> checks the
/// pointer and size again, so the optimizer can never write through memory the tensor no longer uses.
/// </remarks>
internal sealed unsafe class BoundParameter<T> : MemoryManager<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly nn.Module _owner;
    private readonly string _localName;
    private readonly Parameter _parameter;
    private readonly Tensor _handle;
    private readonly long[] _shape;
    private readonly nint _pointer;
    private readonly int _length;
    private bool _disposed;

    public BoundParameter(string name, nn.Module owner, string localName, Parameter parameter)
    {
        Name = name;
        _owner = owner;
        _localName = localName;
        _parameter = parameter;
        TensorCopy.CheckFloating<T>(parameter, $"Parameter '{name}'");
        if (!parameter.is_contiguous())
        {
            throw new ArgumentException($"Parameter '{name}' is not contiguous; the optimizer updates parameters in place in their own (contiguous) memory.");
        }

        _shape = parameter.shape;
        _length = checked((int)parameter.numel());
        _handle = parameter.alias().DetachFromDisposeScope();
        _pointer = DataPointer(_handle);
        Gradient = new T[_length];
    }

    /// <summary>The parameter's name (<c>named_parameters()</c>).</summary>
    public string Name { get; }

    /// <summary>Where the parameter's data starts (and stays while bound).</summary>
    public nint Pointer => _pointer;

    /// <summary>The number of values.</summary>
    public int Length => _length;

    /// <summary>The Curvature-owned gradient buffer the optimizer reads (and, for preconditioning, rewrites).</summary>
    public T[] Gradient { get; }

    /// <summary>Throws <see cref="InvalidOperationException"/> when the binding no longer describes the module's parameter.</summary>
    public void Verify()
    {
        if (Problem() is { } problem)
        {
            throw new InvalidOperationException($"{problem} Nothing was changed; attach the optimizer again after changing the module.");
        }
    }

    /// <summary>Copy: <c>.grad</c> into <see cref="Gradient"/> (zeros when the parameter has no gradient).</summary>
    public void ReadGradient()
    {
        using var grad = _handle.grad;
        if (grad is null)
        {
            Array.Clear(Gradient);
            return;
        }

        TensorCopy.CheckFloating<T>(grad, $"The gradient of '{Name}'");
        TensorCopy.CopyTo(grad, Gradient.AsSpan(), T.One);
    }

    /// <summary>Copy: <see cref="Gradient"/> into <c>.grad</c> (created when missing).</summary>
    public void WriteGradient()
    {
        var grad = _handle.grad;
        if (grad is null)
        {
            using var noGrad = no_grad();
            grad = zeros_like(_handle).DetachFromDisposeScope();
            _handle.grad = grad;
        }
        else
        {
            grad.DetachFromDisposeScope();
        }

        using (grad)
        {
            if (grad.is_contiguous())
            {
                TensorCopy.CopyFrom<T>(Gradient, grad);
            }
            else
            {
                using var contiguous = grad.contiguous();
                TensorCopy.CopyFrom<T>(Gradient, contiguous);
                using var noGrad = no_grad();
                grad.copy_(contiguous);
            }
        }
    }

    /// <inheritdoc />
    public override Span<T> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_handle.numel() != _length || _handle.dtype != TensorCopy.ScalarTypeOf<T>() || _handle.device_type != DeviceType.CPU
            || !_handle.is_contiguous() || DataPointer(_handle) != _pointer)
        {
            throw new InvalidOperationException($"The memory of parameter '{Name}' changed since the optimizer was bound to it; refusing to use the old memory.");
        }

        return new Span<T>((void*)_pointer, _length);
    }

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        _ = GetSpan();
        return new MemoryHandle((T*)_pointer + elementIndex);
    }

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            _handle.Dispose();
        }
    }

    private static nint DataPointer(Tensor tensor) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));

    /// <summary>What changed, or null when the binding still holds.</summary>
    private string? Problem()
    {
        if (_disposed)
        {
            return $"The binding of parameter '{Name}' was released.";
        }

        if (_parameter.IsInvalid)
        {
            return $"Parameter '{Name}' was disposed (for example by module.to(...), which replaces every parameter).";
        }

        Parameter? current = null;
        foreach (var (name, p) in _owner.named_parameters(recurse: false))
        {
            if (name == _localName)
            {
                current = p;
                break;
            }
        }

        if (!ReferenceEquals(current, _parameter))
        {
            return current is null
                ? $"The module no longer has parameter '{Name}'."
                : $"Parameter '{Name}' of the module was replaced by another tensor (module.to(...), an assignment, or loading into new tensors).";
        }

        if (_handle.dtype != TensorCopy.ScalarTypeOf<T>())
        {
            return $"Parameter '{Name}' is now {_handle.dtype}; it was bound as {TensorCopy.ScalarTypeOf<T>()}.";
        }

        if (_handle.device_type != DeviceType.CPU)
        {
            return $"Parameter '{Name}' moved to {_handle.device_type}; it was bound on the CPU.";
        }

        bool sameShape = _handle.dim() == _shape.Length;
        for (int i = 0; sameShape && i < _shape.Length; i++)
        {
            sameShape = _handle.size(i) == _shape[i];
        }

        if (!sameShape)
        {
            return $"Parameter '{Name}' now has shape [{string.Join(", ", _handle.shape)}]; it was bound with [{string.Join(", ", _shape)}].";
        }

        if (!_handle.is_contiguous() || DataPointer(_handle) != _pointer)
        {
            return $"The data of parameter '{Name}' was replaced (set_, a new .data, or a resize): the tensor no longer uses the memory the optimizer was bound to.";
        }

        return null;
    }
}
