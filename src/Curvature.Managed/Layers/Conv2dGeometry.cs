namespace Curvature.Layers;

/// <summary>
/// The geometry of a 2-D convolution layer (PyTorch <c>nn.Conv2d</c> conventions): channels, kernel, stride,
/// zero padding, dilation and groups.
/// </summary>
public sealed record Conv2dGeometry
{
    /// <summary>Creates and validates a geometry.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, a padding is negative, or the channels are not divisible by <paramref name="groups"/>.</exception>
    public Conv2dGeometry(
        int inChannels,
        int outChannels,
        int kernelHeight,
        int kernelWidth,
        int strideHeight = 1,
        int strideWidth = 1,
        int paddingHeight = 0,
        int paddingWidth = 0,
        int dilationHeight = 1,
        int dilationWidth = 1,
        int groups = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideWidth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(paddingHeight);
        ArgumentOutOfRangeException.ThrowIfNegative(paddingWidth);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilationHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilationWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"The channels ({inChannels} in, {outChannels} out) must be divisible by the number of groups.");
        }

        InChannels = inChannels;
        OutChannels = outChannels;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        StrideHeight = strideHeight;
        StrideWidth = strideWidth;
        PaddingHeight = paddingHeight;
        PaddingWidth = paddingWidth;
        DilationHeight = dilationHeight;
        DilationWidth = dilationWidth;
        Groups = groups;
    }

    /// <summary>Input channels (C_in).</summary>
    public int InChannels { get; }

    /// <summary>Output channels (C_out).</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height (kh).</summary>
    public int KernelHeight { get; }

    /// <summary>Kernel width (kw).</summary>
    public int KernelWidth { get; }

    /// <summary>Vertical stride.</summary>
    public int StrideHeight { get; }

    /// <summary>Horizontal stride.</summary>
    public int StrideWidth { get; }

    /// <summary>Zero padding added above and below.</summary>
    public int PaddingHeight { get; }

    /// <summary>Zero padding added left and right.</summary>
    public int PaddingWidth { get; }

    /// <summary>Vertical dilation.</summary>
    public int DilationHeight { get; }

    /// <summary>Horizontal dilation.</summary>
    public int DilationWidth { get; }

    /// <summary>Number of channel groups.</summary>
    public int Groups { get; }

    /// <summary>Features per patch (per group): <c>(C_in / groups)·kh·kw</c>, the unfolded row length.</summary>
    public int PatchSize => InChannels / Groups * KernelHeight * KernelWidth;

    /// <summary>Output height for an input of height <paramref name="inputHeight"/> (PyTorch's formula).</summary>
    public int OutputHeight(int inputHeight) =>
        ((inputHeight + (2 * PaddingHeight) - (DilationHeight * (KernelHeight - 1)) - 1) / StrideHeight) + 1;

    /// <summary>Output width for an input of width <paramref name="inputWidth"/> (PyTorch's formula).</summary>
    public int OutputWidth(int inputWidth) =>
        ((inputWidth + (2 * PaddingWidth) - (DilationWidth * (KernelWidth - 1)) - 1) / StrideWidth) + 1;

    /// <summary>Returns the same geometry with dilation 1 (the official AdaFisher's patch extraction ignores dilation).</summary>
    public Conv2dGeometry WithoutDilation() =>
        new(InChannels, OutChannels, KernelHeight, KernelWidth, StrideHeight, StrideWidth, PaddingHeight, PaddingWidth, 1, 1, Groups);
}
