using System.Numerics;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Internals;

/// <summary>What the bridge holds for one captured layer: the copied input, the output handle and the gradient buffer.</summary>
internal sealed class CapturedLayer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public CapturedLayer(TorchLayer layer, nn.Module<Tensor, Tensor> module)
    {
        Layer = layer;
        Module = module;
    }

    public TorchLayer Layer { get; }

    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>Removes the forward hook.</summary>
    public Action? RemoveHook { get; set; }

    /// <summary>Calls of the layer since recording started (1 is expected).</summary>
    public int Calls { get; set; }

    /// <summary>The layer input (or x̂, or the indices), copied in the forward hook; grows, reused.</summary>
    public T[] Input = [];

    public int[] InputShape = [];

    public int InputLength { get; set; }

    /// <summary>A second handle on the layer output (kept alive after the module disposes its own), or null.</summary>
    public Tensor? Output { get; set; }

    public int[] OutputShape = [];

    public int OutputLength { get; set; }

    /// <summary>The output gradients <c>[V, …output shape]</c>; grows, reused.</summary>
    public T[] Gradients = [];

    public int[] GradientShape = [];

    public int GradientLength { get; set; }

    /// <summary>Sets <paramref name="target"/> to <paramref name="shape"/>, reusing the array when the rank is unchanged.</summary>
    public static int SetShape(ref int[] target, long[] shape, int leading = -1)
    {
        int offset = leading < 0 ? 0 : 1;
        if (target.Length != shape.Length + offset)
        {
            target = new int[shape.Length + offset];
        }

        long length = 1;
        if (leading >= 0)
        {
            target[0] = leading;
            length = leading;
        }

        for (int i = 0; i < shape.Length; i++)
        {
            target[i + offset] = checked((int)shape[i]);
            length *= shape[i];
        }

        return checked((int)length);
    }

    /// <summary>Drops the output handle and forgets the call count.</summary>
    public void Release()
    {
        Output?.Dispose();
        Output = null;
        Calls = 0;
    }
}
