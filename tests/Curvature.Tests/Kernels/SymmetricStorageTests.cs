using System.Numerics;
using System.Runtime.CompilerServices;
using Curvature.Internals;
using Xunit;

namespace Curvature.Tests.Kernels;

/// <summary>
/// The shared O(n²) helpers (mirror, in-place transpose, eigenvector sign rule, non-finite screen) against their plain
/// element-by-element definitions, written here: results must be bit-identical (payloads of NaN and the sign of zero
/// included) on every size around the tile (32) and register-block (4) edges, with row padding left untouched.
/// </summary>
public class SymmetricStorageTests
{
    private static readonly int[] Sizes = [.. Enumerable.Range(0, 41), 63, 64, 65, 67, 96, 127, 128, 129, 131, 257];
    private static readonly int[] Pitches = [0, 1, 3, 8];

    [Fact]
    public void Mirror_BitIdenticalToDefinition()
    {
        RunMirror<double>();
        RunMirror<float>();
    }

    [Fact]
    public void CopyTransposedTriangle_BitIdenticalToDefinition_AndWritesNothingElse()
    {
        RunCopyTransposed<double>();
        RunCopyTransposed<float>();
    }

    [Fact]
    public void TransposeInPlace_BitIdenticalToDefinition()
    {
        RunTranspose<double>();
        RunTranspose<float>();
    }

    [Fact]
    public void NormalizeEigenvectorSigns_BitIdenticalToDefinition()
    {
        RunSigns<double>();
        RunSigns<float>();
    }

    [Fact]
    public void FiniteLeadingOrder_MatchesDefinition()
    {
        RunFiniteOrder<double>();
        RunFiniteOrder<float>();
    }

    [Fact]
    public void IndexOfNonFinite_FindsTheFirstAtEveryPosition()
    {
        foreach (int length in new[] { 0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100 })
        {
            var values = new double[length];
            for (int i = 0; i < length; i++)
            {
                values[i] = i - 50.5;
            }

            Assert.Equal(-1, SymmetricStorage.IndexOfNonFinite<double>(values));
            foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            {
                for (int at = 0; at < length; at++)
                {
                    var copy = (double[])values.Clone();
                    copy[at] = bad;
                    if (at + 5 < length)
                    {
                        copy[at + 5] = double.NaN; // a later one must not win
                    }

                    Assert.Equal(at, SymmetricStorage.IndexOfNonFinite<double>(copy));
                    Assert.Equal(at, SymmetricStorage.IndexOfNonFinite<float>(Array.ConvertAll(copy, v => (float)v)));
                }
            }
        }
    }

    private static void RunMirror<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(7);
        foreach (int n in Sizes)
        {
            foreach (int pitch in Pitches)
            {
                foreach (bool fromLower in new[] { true, false })
                {
                    var data = Special<T>(n, pitch, rng);
                    var expected = (T[])data.Clone();
                    int stride = n + pitch;
                    for (int i = 0; i < n; i++)
                    {
                        for (int j = 0; j < i; j++)
                        {
                            if (fromLower)
                            {
                                expected[(j * stride) + i] = expected[(i * stride) + j];
                            }
                            else
                            {
                                expected[(i * stride) + j] = expected[(j * stride) + i];
                            }
                        }
                    }

                    SymmetricStorage.Mirror(Ref(data, n, stride), fromLower);
                    AssertBitEqual(expected, data, $"mirror {typeof(T).Name} n={n} pitch={pitch} fromLower={fromLower}");
                }
            }
        }
    }

    private static void RunCopyTransposed<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(11);
        foreach (int n in Sizes)
        {
            foreach (bool fromLower in new[] { true, false })
            {
                int ps = n + (n % 3), pd = n + ((n + 1) % 4);
                var source = Special<T>(n, ps - n, rng);
                var destination = Special<T>(n, pd - n, rng);
                var expected = (T[])destination.Clone();
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j <= i; j++)
                    {
                        if (fromLower)
                        {
                            expected[(j * pd) + i] = source[(i * ps) + j];
                        }
                        else
                        {
                            expected[(i * pd) + j] = source[(j * ps) + i];
                        }
                    }
                }

                var before = (T[])source.Clone();
                SymmetricStorage.CopyTransposedTriangle(Ref(source, n, ps), Ref(destination, n, pd), fromLower);
                AssertBitEqual(expected, destination, $"copy-transposed {typeof(T).Name} n={n} fromLower={fromLower}");
                AssertBitEqual(before, source, $"copy-transposed source {typeof(T).Name} n={n}");
            }
        }
    }

    private static void RunTranspose<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(8);
        foreach (int n in Sizes)
        {
            foreach (int pitch in Pitches)
            {
                var data = Special<T>(n, pitch, rng);
                var expected = (T[])data.Clone();
                int stride = n + pitch;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        expected[(i * stride) + j] = data[(j * stride) + i];
                    }
                }

                SymmetricStorage.TransposeInPlace(Ref(data, n, stride));
                AssertBitEqual(expected, data, $"transpose {typeof(T).Name} n={n} pitch={pitch}");
            }
        }
    }

    private static void RunSigns<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(9);
        foreach (int n in Sizes.Concat([1100, 2100]))
        {
            int pitch = n % 3;
            int stride = n + pitch;
            var data = Special<T>(n, pitch, rng);

            // Columns with ties of equal magnitude and opposite sign, and one all-negative column.
            if (n >= 4)
            {
                data[(1 * stride) + 2] = T.CreateChecked(-5);
                data[(3 * stride) + 2] = T.CreateChecked(5);
                for (int i = 0; i < n; i++)
                {
                    data[(i * stride) + 3] = -T.CreateChecked(i + 1);
                }
            }

            var expected = (T[])data.Clone();
            for (int j = 0; j < n; j++)
            {
                // The definition, column by column.
                int best = 0;
                T bestAbs = -T.One;
                for (int i = 0; i < n; i++)
                {
                    T v = T.Abs(expected[(i * stride) + j]);
                    if (v > bestAbs)
                    {
                        bestAbs = v;
                        best = i;
                    }
                }

                if (expected[(best * stride) + j] < T.Zero)
                {
                    for (int i = 0; i < n; i++)
                    {
                        expected[(i * stride) + j] = -expected[(i * stride) + j];
                    }
                }
            }

            SymmetricStorage.NormalizeEigenvectorSigns(Ref(data, n, stride));
            AssertBitEqual(expected, data, $"signs {typeof(T).Name} n={n} pitch={pitch}");
        }
    }

    private static void RunFiniteOrder<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(10);
        foreach (int n in Sizes)
        {
            int stride = n + 2;
            for (int trial = 0; trial < 6; trial++)
            {
                var data = new T[Math.Max(1, n * stride)];
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = T.CreateChecked(rng.NextDouble() - 0.5);
                }

                // Up to two non-finite entries anywhere (both triangles, padding included).
                for (int k = 0; k < trial % 3 && n > 0; k++)
                {
                    data[rng.Next(data.Length)] = k == 0 ? T.NaN : T.NegativeInfinity;
                }

                foreach (bool lower in new[] { true, false })
                {
                    int expected = n;
                    for (int i = 0; i < n && expected == n; i++)
                    {
                        // Leading order: the first row of L (column i) holding a non-finite entry of the stored triangle.
                        for (int p = 0; p <= i; p++)
                        {
                            T v = lower ? data[(i * stride) + p] : data[(p * stride) + i];
                            if (!T.IsFinite(v))
                            {
                                expected = i;
                                break;
                            }
                        }
                    }

                    Assert.Equal(expected, SymmetricStorage.FiniteLeadingOrder(Ref(data, n, stride), lower));
                }
            }
        }
    }

    /// <summary>Random entries with NaN payloads, ±0, ±∞ and subnormals mixed in; padding holds a distinct NaN.</summary>
    private static T[] Special<T>(int n, int pitch, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int stride = n + pitch;
        var data = new T[Math.Max(1, n * stride)];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < stride; j++)
            {
                T v;
                if (j >= n)
                {
                    v = Payload<T>(0xABC);
                }
                else
                {
                    int kind = rng.Next(40);
                    v = kind switch
                    {
                        0 => Payload<T>((ulong)rng.Next(1, 1000)),
                        1 => T.NegativeZero,
                        2 => T.Zero,
                        3 => T.PositiveInfinity,
                        4 => T.NegativeInfinity,
                        5 => T.Epsilon * T.CreateChecked(rng.Next(1, 9)),
                        _ => T.CreateChecked((rng.NextDouble() * 2) - 1),
                    };
                }

                data[(i * stride) + j] = v;
            }
        }

        return data;
    }

    private static T Payload<T>(ulong payload)
        where T : unmanaged
    {
        if (typeof(T) == typeof(double))
        {
            double d = BitConverter.Int64BitsToDouble(unchecked((long)(0xFFF8_0000_0000_0000UL | payload)));
            return Unsafe.As<double, T>(ref d);
        }

        float f = BitConverter.Int32BitsToSingle(unchecked((int)(0x7FC0_0000U | (uint)payload)));
        return Unsafe.As<float, T>(ref f);
    }

    private static MatrixRef<T> Ref<T>(T[] data, int n, int stride) => new(ref data[0], n, n, stride);

    private static void AssertBitEqual<T>(T[] expected, T[] actual, string what)
        where T : unmanaged
    {
        for (int i = 0; i < expected.Length; i++)
        {
            T e = expected[i], a = actual[i];
            bool same = typeof(T) == typeof(double)
                ? BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref e)) == BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref a))
                : BitConverter.SingleToInt32Bits(Unsafe.As<T, float>(ref e)) == BitConverter.SingleToInt32Bits(Unsafe.As<T, float>(ref a));
            if (!same)
            {
                Assert.Fail($"{what}: element {i} differs ({e} expected, {a} actual)");
            }
        }
    }
}
