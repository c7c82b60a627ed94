using Curvature.Internals;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// Per-thread scratch buffers for the managed kernels: pinned, 64-byte aligned, grown on demand and then reused,
/// so steady-state kernel calls allocate nothing.
/// </summary>
internal static unsafe class KernelScratch
{
    /// <summary>Packed A block of GEMM.</summary>
    public const int PackA = 0;

    /// <summary>Packed B panel of GEMM.</summary>
    public const int PackB = 1;

    /// <summary>Small triangular block (inverse / copy) used by Cholesky routines.</summary>
    public const int Block = 2;

    /// <summary>Panel copy used by Cholesky routines.</summary>
    public const int Panel = 3;

    /// <summary>Eigenvector matrix of the eigensolver.</summary>
    public const int EigenVectors = 4;

    /// <summary>Vectors of the eigensolver.</summary>
    public const int EigenWork = 5;

    /// <summary>Eigenvalue order of the eigensolver.</summary>
    public const int EigenOrder = 6;

    /// <summary>Panel of the eigensolver's blocked back-transformation.</summary>
    public const int EigenPanel = 7;

    /// <summary>Recorded rotations of the eigensolver's QL sweeps.</summary>
    public const int EigenRotations = 8;

    /// <summary>Panel vectors [V | W] and [W | V] of the eigensolver's blocked tridiagonal reduction.</summary>
    public const int EigenReduction = 9;

    /// <summary>Vectors of the divide-and-conquer tridiagonal solver.</summary>
    public const int DivideConquerVectors = 10;

    /// <summary>Index arrays of the divide-and-conquer tridiagonal solver.</summary>
    public const int DivideConquerIndices = 11;

    /// <summary>Gathered eigenvector columns of a divide-and-conquer merge.</summary>
    public const int DivideConquerColumns = 12;

    /// <summary>Secular-equation differences / rank-one eigenvectors of a divide-and-conquer merge.</summary>
    public const int DivideConquerSecular = 13;

    /// <summary>Eigenvectors of a divide-and-conquer leaf.</summary>
    public const int DivideConquerLeaf = 14;

    /// <summary>Eigenvalue order of the eigensolver's result.</summary>
    public const int EigenResultOrder = 15;

    private const int SlotCount = 16;

    [ThreadStatic]
    private static AlignedBuffer<byte>?[]? t_buffers;

    /// <summary>Returns at least <paramref name="count"/> elements of 64-byte aligned scratch for slot <paramref name="slot"/>.
    /// The memory stays valid until the same slot is requested again on this thread with a larger size.</summary>
    public static T* Get<T>(int slot, long count)
        where T : unmanaged
    {
        var buffers = t_buffers ??= new AlignedBuffer<byte>?[SlotCount];
        long bytes = Math.Max(count, 1) * sizeof(T);
        var buffer = buffers[slot];
        if (buffer is null || buffer.Length < bytes)
        {
            long grown = Math.Max(bytes, buffer is null ? 0 : (long)buffer.Length * 3 / 2);
            buffer = new AlignedBuffer<byte>(checked((int)grown));
            buffers[slot] = buffer;
        }

        return (T*)buffer.DangerousGetPointer();
    }
}
