using System.Numerics;
using Curvature.Backends;
using Curvature.Serialization;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Fuzz;

/// <summary>Shared pieces of the stateful fuzz properties.</summary>
public static class FuzzKit
{
    /// <summary>Managed, OpenBLAS and MKL (native ones skipped unless required).</summary>
    public static CurvatureBackend[] AllBackends() => [TestBackends.Get("managed"), TestBackends.Get("openblas"), TestBackends.Get("mkl")];

    /// <summary>The bytes <paramref name="save"/> writes.</summary>
    public static byte[] Saved(Action<Stream> save)
    {
        using var ms = new MemoryStream();
        save(ms);
        return ms.ToArray();
    }

    /// <summary>Runs <paramref name="call"/>; returns null when it succeeded, otherwise the exception's type name (only the
    /// documented rejections are caught: anything else fails the property).</summary>
    public static string? Outcome(Action call)
    {
        try
        {
            call();
            return null;
        }
        catch (Exception e) when (e is ArgumentException or CurvatureException or CheckpointFormatException or InvalidOperationException)
        {
            return e is ArgumentException a ? $"{e.GetType().Name}({a.ParamName})" : e.GetType().Name;
        }
    }

    /// <summary>A matrix of hostile values, rows × cols, row-major.</summary>
    public static T[] Values<T>(Random rng, int count, ValueKind kind)
        where T : IFloatingPointIeee754<T>
    {
        var v = new T[count];
        for (int i = 0; i < count; i++)
        {
            v[i] = HostileValues.Next<T>(rng, kind);
        }

        return v;
    }

    /// <summary>
    /// True when the backends disagree only on whether a damped matrix of values near the range limits factors: one
    /// accepted, another reported <see cref="MatrixNotPositiveDefiniteException"/>. Such a matrix is positive definite
    /// mathematically, but its damping is below the rounding of its entries, so every factorisation's verdict is
    /// rounding noise. The fuzz properties end such a sequence there (the states have diverged) instead of failing.
    /// </summary>
    public static bool DisagreeOnlyAtTheRoundingLimit(string?[] outcomes, ValueKind kind) =>
        kind is ValueKind.Tiny or ValueKind.Huge or ValueKind.Mixed
        && outcomes.Distinct().Count() == 2
        && outcomes.Contains(null)
        && outcomes.Contains(nameof(MatrixNotPositiveDefiniteException));

    /// <summary>Checks every backend reached the same outcome.</summary>
    public static void SameOutcome(string?[] outcomes, CurvatureBackend[] backends, object context)
    {
        for (int i = 1; i < outcomes.Length; i++)
        {
            Assert.True(outcomes[0] == outcomes[i], $"{backends[i].Name} vs managed: '{outcomes[i] ?? "accepted"}' vs '{outcomes[0] ?? "accepted"}' on {context}");
        }
    }

    /// <summary>Corrupts a checkpoint: 0 truncation, 1 bit flip, 2 byte edit with the CRC recomputed (so only the
    /// reader's own checks can catch it), 3 an edited 32/64-bit field under a valid CRC.</summary>
    public static byte[] Corrupt(byte[] bytes, int kind, int position, int value)
    {
        var copy = (byte[])bytes.Clone();
        int at = (int)((uint)position % (uint)Math.Max(1, bytes.Length - 4));
        switch (kind)
        {
            case 0:
                return bytes[..(int)((uint)position % (uint)bytes.Length)];
            case 1:
                copy[(int)((uint)position % (uint)bytes.Length)] ^= (byte)(1 << (value & 7));
                return copy;
            case 2:
                copy[at] = (byte)value;
                break;
            default:
                int width = (value & 1) == 0 ? 4 : 8;
                at = Math.Min(at, Math.Max(0, bytes.Length - 4 - width));
                for (int i = 0; i < width && at + i < bytes.Length - 4; i++)
                {
                    copy[at + i] = (value & 2) != 0 ? (byte)0xFF : (byte)(value >> (8 + i));
                }

                break;
        }

        var crc = new System.IO.Hashing.Crc32();
        crc.Append(copy.AsSpan(0, copy.Length - 4));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(copy.Length - 4), crc.GetCurrentHashAsUInt32());
        return copy;
    }

    /// <summary>
    /// Loads a corrupted checkpoint into <paramref name="target"/>: either it is rejected with
    /// <see cref="CheckpointFormatException"/>, allocating little and changing nothing, or (an edit the format cannot tell
    /// from a real state) it is accepted and then Save→Load is the identity.
    /// </summary>
    public static void LoadCorrupted(byte[] corrupted, Action<Stream> load, Action<Stream> save, object context)
    {
        byte[] before = Saved(save);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        bool rejected = false;
        try
        {
            load(new MemoryStream(corrupted));
        }
        catch (CheckpointFormatException)
        {
            rejected = true;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.True(allocated < (64L * corrupted.Length) + (4 << 20), $"loading {corrupted.Length} corrupted bytes allocated {allocated} bytes ({context})");
        if (rejected)
        {
            Assert.True(before.AsSpan().SequenceEqual(Saved(save)), $"a rejected checkpoint changed the state ({context})");
            return;
        }

        byte[] loaded = Saved(save);
        load(new MemoryStream(loaded));
        Assert.True(loaded.AsSpan().SequenceEqual(Saved(save)), $"Save→Load is not the identity after an accepted edit ({context})");
    }
}
