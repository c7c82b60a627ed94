using Curvature.Internals;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>The aligned allocation helper: element 0 on a 64-byte boundary, zeroed, views of the right shape.</summary>
public class AlignedBufferTests
{
    [Fact]
    public unsafe void ElementZero_IsAligned_ForEveryLengthAndType()
    {
        // Many allocations of varying sizes: the GC places them at varying addresses.
        for (int length = 0; length < 300; length++)
        {
            var d = new AlignedBuffer<double>(length);
            var f = new AlignedBuffer<float>(length);
            var b = new AlignedBuffer<byte>(length);
            Assert.Equal(0, (long)d.DangerousGetPointer() % 64);
            Assert.Equal(0, (long)f.DangerousGetPointer() % 64);
            Assert.Equal(0, (long)b.DangerousGetPointer() % 64);
            Assert.Equal(length, d.Span.Length);
            Assert.True(d.Span.IndexOfAnyExcept(0.0) < 0);
            fixed (double* p = d.Span)
            {
                Assert.True(length == 0 || p == d.DangerousGetPointer());
            }

            Assert.True(d.Memory.Span == d.Span);
        }
    }

    [Fact]
    public void Views_CoverTheElements_AndCopiesAreIndependent()
    {
        var a = new AlignedBuffer<double>(12);
        var m = a.AsSpan2D(3, 4);
        m[2, 3] = 5;
        Assert.Equal(5, a[11]);
        Assert.Equal(5, a.AsReadOnlySpan2D(3, 4)[2, 3]);
        var copy = a.Clone();
        a[11] = 6;
        Assert.Equal(5, copy[11]);
        Assert.Equal(6, ((double[])a)[11]);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.AsSpan2D(4, 4));
        Assert.Throws<IndexOutOfRangeException>(() => a[12]);
        double sum = 0;
        foreach (double v in a)
        {
            sum += v;
        }

        Assert.Equal(6, sum);
    }
}

/// <summary>The library's own matrices (K-FAC factors, EKFAC factors and eigenvectors) start on 64-byte boundaries.</summary>
public class LibraryMatrixAlignmentTests
{
    [Fact]
    public unsafe void KfacAndEkfacBlocks_Are64ByteAligned()
    {
        for (int n = 1; n < 40; n += 3)
        {
            var model = new Curvature.Models.ModelSpec([Curvature.Models.LayerSpec.Linear("l", inFeatures: n, outFeatures: n + 1)]);
            var kfac = new Curvature.Kfac.KfacBlock<double>(model.Blocks[0]);
            var ekfac = new Curvature.Ekfac.EkfacBlock<float>(model.Blocks[0]);
            AssertAligned(kfac.GradientCovariance);
            AssertAligned(kfac.InputCovariance);
            AssertAligned(ekfac.GradientCovariance);
            AssertAligned(ekfac.InputCovariance);
            AssertAligned(ekfac.GradientEigenvectors);
            AssertAligned(ekfac.InputEigenvectors);
        }
    }

    private static unsafe void AssertAligned<T>(CommunityToolkit.HighPerformance.Span2D<T> m)
        where T : unmanaged
    {
        fixed (T* p = &m.DangerousGetReference())
        {
            Assert.Equal(0, (long)p % 64);
        }
    }
}
