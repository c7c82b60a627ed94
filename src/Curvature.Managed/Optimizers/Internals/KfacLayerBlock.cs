using System.Numerics;
using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Kfac.Internals;
using Curvature.Models;
using Curvature.Serialization;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// K-FAC for a Linear or Conv2d layer (Martens &amp; Grosse 2015; Grosse &amp; Martens 2016): one Kronecker block
/// <c>G ⊗ A</c> over <c>[W | b]</c>, or separate weight and bias blocks, with factors computed exactly as
/// <see cref="KfacFactorBuilder{T}"/> computes them for one batch (the shared accumulation code), inverted with the
/// damping of <see cref="DampingMode"/> (π-damping by default, with δ = λ) and applied as <c>(G + δ_G)⁻¹ V (A + δ_A)⁻¹</c>.
/// Statistics layout per sub-block: G (<c>D_out²</c>), then A (<c>D_in'²</c>; absent for a bias-only block).
/// </summary>
internal sealed class KfacLayerBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly KfacBlockLayout[] _layouts;
    private readonly KfacBlock<T>[] _staged;
    private readonly int[] _gOffset;
    private readonly int[] _aOffset;
    private readonly int _statisticsLength;
    private readonly KroneckerBlockInverse<T>[] _inverses;
    private readonly BackgroundRefreshes<T> _background;
    private readonly bool[] _refreshedThisStep;
    private readonly LayerFactorAccumulator<T> _accumulator = new();
    private readonly DampingMode _dampingMode;
    private readonly double _minDamping;
    private readonly T[] _packed;
    private readonly T[] _scratch;
    private readonly string _context;

    public KfacLayerBlock(CurvatureBackend backend, ModelSpec model, int layerIndex, int weightOffset, int biasOffset, DampingMode dampingMode, double minDamping)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, biasOffset)
    {
        _layouts = [.. model.Blocks.Where(b => b.LayerIndex == layerIndex)];
        _staged = [.. _layouts.Select(b => new KfacBlock<T>(b))];
        _gOffset = new int[_layouts.Length];
        _aOffset = new int[_layouts.Length];
        int offset = 0, packed = 0;
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            _gOffset[i] = offset;
            offset += b.OutputSize * b.OutputSize;
            _aOffset[i] = offset;
            offset += b.InputSize * b.InputSize;
            packed = Math.Max(packed, b.OutputSize * b.Columns);
        }

        _statisticsLength = offset;
        _inverses = [.. _layouts.Select(b => new KroneckerBlockInverse<T>(b.OutputSize, b.InputSize))];
        _refreshedThisStep = new bool[_layouts.Length];
        _dampingMode = dampingMode;
        _minDamping = minDamping;
        _packed = new T[packed];
        _scratch = new T[Math.Max(packed, 2 * Layer.OutputSize)];
        _context = $"layer '{Layer.Name}'";
        _background = new BackgroundRefreshes<T>(backend, _layouts, _context, eigenbases: false);
    }

    public override int StatisticsLength => _statisticsLength;

    public override bool NeedsRefresh => true;

    public override bool HasRepresentation => _inverses[0].IsComputed;

    public override bool IsRefreshPending => _background.IsPending;

    public override OptimizerMemory Memory
    {
        get
        {
            long size = Unsafe.SizeOf<T>();
            long staged = 0, inverse = 0, worker = 0;
            foreach (var b in _layouts)
            {
                long factors = ((long)b.OutputSize * b.OutputSize) + ((long)b.InputSize * b.InputSize);
                staged += factors;
                inverse += 2 * (factors + b.OutputSize + b.InputSize);
            }

            worker = _background.WorkerCount * (inverse / _layouts.Length);

            return new OptimizerMemory(staged * size, (inverse + worker) * size, 0, (_packed.Length + _scratch.Length) * size);
        }
    }

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings)
    {
        var shape = LayerFactorAccumulator<T>.Validate(Layer, input, inputShape, gradients, gradientShape, forwardOnly: false);
        var sharing = settings.SharingFor(Layer);
        OverflowGuard.EnsureSecondMomentFits<T>(Math.Max(OverflowGuard.MaxAbs(input), 1.0), 1.0, Layer.Name, "inputs", nameof(input));
        double positions = sharing == WeightSharing.Reduce ? shape.SharedPositions : 1.0;
        double gradientWeight = settings.GradientScale(shape.BatchSize) * KfacWeightSharing.GradientRows(shape, sharing) * positions * positions;
        OverflowGuard.EnsureSecondMomentFits<T>(OverflowGuard.MaxAbs(gradients), gradientWeight, Layer.Name, "output gradients", nameof(gradients));
        return shape;
    }

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings)
    {
        foreach (var b in _staged)
        {
            b.Clear();
        }

        _accumulator.Accumulate(backend, Layer, _staged, shape, input, gradients, shape.BatchSize, settings.Reduction, settings.LossTermsPerExample, settings.SharingFor(Layer), forwardOnly: false);
        StagedBatchSize = shape.BatchSize;
        HasStagedObservation = true;
    }

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            KroneckerPacking.Blend<T>(current, next, _gOffset[i], _staged[i].GradientStorage, keep, add);
            KroneckerPacking.Blend<T>(current, next, _aOffset[i], _staged[i].InputStorage, keep, add);
        }
    }

    public override void Refresh(CurvatureBackend backend, Span<T> statistics, double damping)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            _refreshedThisStep[i] = false;
        }

        try
        {
            for (int i = 0; i < _layouts.Length; i++)
            {
                _inverses[i].Prepare(backend, G(statistics, i), A(statistics, i), _dampingMode, damping, _minDamping, true, _context, CancellationToken.None);
                _inverses[i].Commit();
                _refreshedThisStep[i] = true;
            }
        }
        catch
        {
            RevertRefresh();
            throw;
        }
    }

    public override void RevertRefresh()
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            if (_refreshedThisStep[i])
            {
                _inverses[i].RevertLastCommit();
                _refreshedThisStep[i] = false;
            }
        }
    }

    public override void OnCommitted(bool refreshed)
    {
        Array.Clear(_refreshedThisStep);
    }

    public override void StartBackgroundRefresh(ReadOnlySpan<T> statistics, double damping)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            _background.Start(i, G(statistics, i), A(statistics, i), _dampingMode, damping, _minDamping);
        }
    }

    public override bool CollectBackgroundRefresh(Span<T> committedStatistics)
    {
        _background.ThrowPendingError();
        bool any = SwapInFinishedRefresh(committedStatistics);
        _background.ThrowPendingError();
        return any;
    }

    public override bool SwapInFinishedRefresh(Span<T> committedStatistics)
    {
        bool any = false;
        for (int i = 0; i < _layouts.Length; i++)
        {
            if (_background.TrySwapIn(i, ref _inverses[i]))
            {
                any = true;
            }
        }

        return any;
    }

    public override void WaitForBackgroundRefresh() => _background.Wait();

    public override void DiscardBackgroundRefresh() => _background.Discard();

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            var packed = KroneckerPacking.Pack(b, WeightOffset, BiasOffset, gradient, _packed);
            var scratch = new Span2D<T>(_scratch, 0, b.OutputSize, b.Columns, 0);
            if (b.HasInputFactor)
            {
                _inverses[i].ApplyPacked(backend, packed, scratch, 1);
                KroneckerPacking.Unpack(b, WeightOffset, BiasOffset, packed, direction);
            }
            else
            {
                _inverses[i].ApplyBias(backend, packed, scratch.Slice(0, 0, b.OutputSize, 1), new Span2D<T>(_scratch, b.OutputSize, b.OutputSize, 1, 0));
                KroneckerPacking.Unpack(b, WeightOffset, BiasOffset, scratch.Slice(0, 0, b.OutputSize, 1), direction);
            }
        }
    }

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            var packed = KroneckerPacking.Pack(b, WeightOffset, BiasOffset, vector, _packed);
            var scratch = new Span2D<T>(_scratch, 0, b.OutputSize, b.Columns, 0);
            var gView = View(statistics.Slice(_gOffset[i], b.OutputSize * b.OutputSize), b.OutputSize);
            if (b.HasInputFactor)
            {
                var aView = View(statistics.Slice(_aOffset[i], b.InputSize * b.InputSize), b.InputSize);
                KroneckerKernels.Sandwich(backend, gView, false, aView, false, packed, scratch, 1);
                KroneckerPacking.Unpack(b, WeightOffset, BiasOffset, packed, result);
            }
            else
            {
                backend.MatrixMultiply<T>(gView, Backends.Transpose.None, packed, Backends.Transpose.None, scratch.Slice(0, 0, b.OutputSize, 1), T.One, T.Zero);
                KroneckerPacking.Unpack(b, WeightOffset, BiasOffset, scratch.Slice(0, 0, b.OutputSize, 1), result);
            }
        }
    }

    public override void WriteRepresentation(CheckpointWriter writer, string prefix)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            var inv = _inverses[i];
            string p = $"{prefix}{i}.";
            writer.WriteBoolean(p + "hasInverse", inv.IsComputed);
            if (!inv.IsComputed)
            {
                continue;
            }

            var f = inv.Front;
            writer.WriteInt32(p + "mode", (int)inv.Mode);
            writer.WriteDouble(p + "exactDamping", inv.ExactDamping);
            writer.WriteDouble(p + "dampingG", inv.Dampings.Gradient);
            writer.WriteDouble(p + "dampingA", inv.Dampings.Input);
            writer.WriteValues<T>(p + "left", f.G);
            writer.WriteValues<T>(p + "right", f.A);
            writer.WriteValues<T>(p + "leftValues", f.GValues);
            writer.WriteValues<T>(p + "rightValues", f.AValues);
        }
    }

    public override object? ReadRepresentation(CheckpointReader reader, string prefix)
    {
        var saved = new SavedInverse?[_layouts.Length];
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            string p = $"{prefix}{i}.";
            if (!reader.ReadBoolean(p + "hasInverse"))
            {
                continue;
            }

            int mode = reader.ReadInt32(p + "mode");
            if (mode != (int)_dampingMode)
            {
                throw new CheckpointFormatException($"The checkpoint's inverse of {_context} uses damping mode {mode}; this optimizer uses {_dampingMode}.");
            }

            double exact = reader.ReadDouble(p + "exactDamping"), dg = reader.ReadDouble(p + "dampingG"), da = reader.ReadDouble(p + "dampingA");
            if (!double.IsFinite(exact) || !double.IsFinite(dg) || !double.IsFinite(da) || exact < 0 || dg < 0 || da < 0)
            {
                throw new CheckpointFormatException($"The checkpoint holds invalid dampings for {_context}.");
            }

            saved[i] = new SavedInverse(
                exact,
                new FactorDamping(dg, da),
                Finite(reader.ReadValues<T>(p + "left", b.OutputSize * b.OutputSize), p + "left"),
                Finite(reader.ReadValues<T>(p + "right", b.InputSize * b.InputSize), p + "right"),
                Finite(reader.ReadValues<T>(p + "leftValues", b.OutputSize), p + "leftValues"),
                Finite(reader.ReadValues<T>(p + "rightValues", b.InputSize), p + "rightValues"));
        }

        return saved;
    }

    public override void RestoreRepresentation(object? state)
    {
        DiscardBackgroundRefresh();
        var saved = (SavedInverse?[])state!;
        for (int i = 0; i < _layouts.Length; i++)
        {
            if (saved[i] is { } s)
            {
                _inverses[i].Restore(_dampingMode, s.ExactDamping, s.Dampings, s.Left, s.Right, s.LeftValues, s.RightValues);
            }
            else
            {
                _inverses[i].Invalidate();
            }
        }
    }

    public override void ClearRepresentation()
    {
        DiscardBackgroundRefresh();
        foreach (var inv in _inverses)
        {
            inv.Invalidate();
        }
    }

    public override void Dispose() => _background.Dispose();

    private static T[] Finite(T[] values, string name)
    {
        foreach (T v in values)
        {
            if (!T.IsFinite(v))
            {
                throw new CheckpointFormatException($"Checkpoint entry '{name}' contains NaN or infinity.");
            }
        }

        return values;
    }

    private ReadOnlySpan<T> G(ReadOnlySpan<T> statistics, int i) => statistics.Slice(_gOffset[i], _layouts[i].OutputSize * _layouts[i].OutputSize);

    private ReadOnlySpan<T> A(ReadOnlySpan<T> statistics, int i) => statistics.Slice(_aOffset[i], _layouts[i].InputSize * _layouts[i].InputSize);

    private static ReadOnlySpan2D<T> View(ReadOnlySpan<T> values, int n) => ReadOnlySpan2D<T>.DangerousCreate(values[0], n, n, 0);

    private sealed record SavedInverse(double ExactDamping, FactorDamping Dampings, T[] Left, T[] Right, T[] LeftValues, T[] RightValues);
}
