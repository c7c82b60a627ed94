using System.Numerics;
using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Damping;
using Curvature.Ekfac;
using Curvature.Ekfac.Internals;
using Curvature.Kfac;
using Curvature.Kfac.Internals;
using Curvature.Models;
using Curvature.Serialization;

namespace Curvature.Optimizers.Internals;

/// <summary>
/// EKFAC for a Linear or Conv2d layer (George et al. 2018, with running scalings): the K-FAC factors A and G as running
/// averages (computed exactly as <see cref="KfacFactorBuilder{T}"/> computes them for one batch), their eigenbases
/// <c>Q_A</c>, <c>Q_G</c> refreshed every few steps, and the scalings <c>s = κ Σ_{v,n} (Q_Gᵀ Γ_{n,v} Q_A)∘2</c> of the
/// per-example gradients <c>Γ_{n,v} = Σ_s g xᵀ</c> (curvlinops' eigenvalue correction, K-FAC-expand rows) re-estimated
/// every statistics update in the current basis as a running average. When the basis changes the scalings restart from
/// the K-FAC eigenvalues <c>λ_G ⊗ λ_A</c> of the new basis (as nngeometry initialises its EKFAC diagonal), so the average
/// continues smoothly. Preconditioning: <c>Q_G ((Q_Gᵀ V Q_A) / (s + λ)) Q_Aᵀ</c>.
/// Statistics layout per sub-block: G (<c>D_out²</c>), A (<c>D_in'²</c>), s (<c>D_out·D_in'</c>; bias-only: <c>D_out</c>).
/// </summary>
internal sealed class EkfacLayerBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly KfacBlockLayout[] _layouts;
    private readonly KfacBlock<T>[] _staged;
    private readonly int[] _gOffset;
    private readonly int[] _aOffset;
    private readonly int[] _sOffset;
    private readonly int _statisticsLength;
    private readonly KroneckerBlockInverse<T>[] _bases;
    private readonly BackgroundRefreshes<T> _background;
    private readonly bool[] _refreshedThisStep;
    private readonly LayerFactorAccumulator<T> _accumulator = new();
    private readonly Workspace<T> _workspace = new(4);
    private readonly CurvatureBackend _backend;
    private readonly EkfacCorrectionStrategy _strategy;
    private readonly T[] _packed;
    private readonly T[] _scratch;
    private readonly T[] _batchScalings;
    private readonly string _context;
    private T[] _expandInputs = [];
    private T[] _expandOnes = [];
    private T[] _expandGradients = [];
    private T[] _summedGradients = [];
    private KfacBatchShape _shape;
    private bool _expandFromAccumulator;
    private T _kappa;

    public EkfacLayerBlock(CurvatureBackend backend, ModelSpec model, int layerIndex, int weightOffset, int biasOffset, EkfacCorrectionStrategy strategy)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, biasOffset)
    {
        _backend = backend;
        _strategy = strategy;
        _layouts = [.. model.Blocks.Where(b => b.LayerIndex == layerIndex)];
        _staged = [.. _layouts.Select(b => new KfacBlock<T>(b))];
        _gOffset = new int[_layouts.Length];
        _aOffset = new int[_layouts.Length];
        _sOffset = new int[_layouts.Length];
        int offset = 0, packed = 0, scalings = 0;
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            _gOffset[i] = offset;
            offset += b.OutputSize * b.OutputSize;
            _aOffset[i] = offset;
            offset += b.InputSize * b.InputSize;
            _sOffset[i] = offset;
            offset += b.OutputSize * b.Columns;
            packed = Math.Max(packed, b.OutputSize * b.Columns);
            scalings += b.OutputSize * b.Columns;
        }

        _statisticsLength = offset;
        _bases = [.. _layouts.Select(b => new KroneckerBlockInverse<T>(b.OutputSize, b.InputSize, eigenbasis: true))];
        _refreshedThisStep = new bool[_layouts.Length];
        _packed = new T[packed];
        _scratch = new T[packed];
        _batchScalings = new T[scalings];
        _context = $"layer '{Layer.Name}'";
        _background = new BackgroundRefreshes<T>(backend, _layouts, _context, eigenbases: true);
    }

    public override int StatisticsLength => _statisticsLength;

    public override bool NeedsRefresh => true;

    public override bool HasRepresentation => _bases[0].IsComputed;

    public override bool IsRefreshPending => _background.IsPending;

    public override OptimizerMemory Memory
    {
        get
        {
            long size = Unsafe.SizeOf<T>();
            long staged = _batchScalings.Length + _expandInputs.Length + _expandOnes.Length + _expandGradients.Length + _summedGradients.Length, basis = 0;
            foreach (var b in _layouts)
            {
                long factors = ((long)b.OutputSize * b.OutputSize) + ((long)b.InputSize * b.InputSize);
                staged += factors;
                basis += 2 * (factors + b.OutputSize + b.InputSize);
            }

            long workers = _background.WorkerCount * (basis / _layouts.Length);
            return new OptimizerMemory(staged * size, 0, (basis + workers) * size, (_packed.Length + _scratch.Length) * size);
        }
    }

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings)
    {
        var shape = LayerFactorAccumulator<T>.Validate(Layer, input, inputShape, gradients, gradientShape, forwardOnly: false);
        OverflowGuard.EnsureSecondMomentFits<T>(Math.Max(OverflowGuard.MaxAbs(input), 1.0), 1.0, Layer.Name, "inputs", nameof(input));

        // The scalings square per-example gradients summed over the S positions: bounded by κ·V·N·(S·max|g|·max|x|)².
        double perExample = shape.SharedPositions * Math.Max(OverflowGuard.MaxAbs(input), 1.0);
        OverflowGuard.EnsureSecondMomentFits<T>(perExample * OverflowGuard.MaxAbs(gradients), settings.GradientScale(shape.BatchSize) * shape.Vectors * shape.BatchSize * Layer.OutputSize * Math.Max(Layer.WeightInputSize, 1), Layer.Name, "output gradients", nameof(gradients));
        return shape;
    }

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings)
    {
        foreach (var b in _staged)
        {
            b.Clear();
        }

        var sharing = settings.SharingFor(Layer);
        _accumulator.Accumulate(backend, Layer, _staged, shape, input, gradients, shape.BatchSize, settings.Reduction, settings.LossTermsPerExample, sharing, forwardOnly: false);
        _shape = shape;
        _kappa = T.CreateChecked(settings.GradientScale(shape.BatchSize));
        _expandFromAccumulator = sharing == WeightSharing.Expand;
        int n = shape.BatchSize, s = shape.SharedPositions, d = Layer.WeightInputSize;
        if (!_expandFromAccumulator)
        {
            // The scalings always use K-FAC-expand rows (curvlinops' eigenvalue correction).
            var g = Buffer(ref _expandGradients, KfacWeightSharing.GradientRows(shape, WeightSharing.Expand), Layer.OutputSize);
            KfacWeightSharing.FormatGradients(Layer, gradients, shape, WeightSharing.Expand, g);
            if (_layouts.Any(b => b.Parameters == KfacBlockParameters.Weight))
            {
                KfacWeightSharing.FormatInputs(Layer, input, shape, WeightSharing.Expand, false, Buffer(ref _expandInputs, n * s, d));
            }

            if (_layouts.Any(b => b.AppendsOnes))
            {
                KfacWeightSharing.FormatInputs(Layer, input, shape, WeightSharing.Expand, true, Buffer(ref _expandOnes, n * s, d + 1));
            }
        }

        if (_layouts.Any(b => !b.HasInputFactor))
        {
            var sum = Buffer(ref _summedGradients, shape.Vectors * n, Layer.OutputSize);
            KfacWeightSharing.FormatGradients(Layer, gradients, shape, WeightSharing.Reduce, sum);
        }

        StagedBatchSize = shape.BatchSize;
        HasStagedObservation = true;
    }

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            KroneckerPacking.Blend<T>(current, next, _gOffset[i], _staged[i].GradientStorage, keep, add);
            KroneckerPacking.Blend<T>(current, next, _aOffset[i], _staged[i].InputStorage, keep, add);
            int length = b.OutputSize * b.Columns;
            if (!_bases[i].IsComputed)
            {
                // No basis yet: the scalings are initialised from the first eigenbasis.
                current.Slice(_sOffset[i], length).CopyTo(next.Slice(_sOffset[i], length));
                continue;
            }

            var batch = _batchScalings.AsSpan(0, length);
            batch.Clear();
            var qG = _bases[i].Left;
            if (b.HasInputFactor)
            {
                var x = b.AppendsOnes
                    ? (_expandFromAccumulator ? _accumulator.InputRowsWithOnes : new ReadOnlySpan2D<T>(_expandOnes, 0, _shape.BatchSize * _shape.SharedPositions, Layer.WeightInputSize + 1, 0))
                    : (_expandFromAccumulator ? _accumulator.InputRows : new ReadOnlySpan2D<T>(_expandInputs, 0, _shape.BatchSize * _shape.SharedPositions, Layer.WeightInputSize, 0));
                var y = _expandFromAccumulator ? _accumulator.GradientRows : new ReadOnlySpan2D<T>(_expandGradients, 0, _shape.Vectors * _shape.BatchSize * _shape.SharedPositions, Layer.OutputSize, 0);
                bool gramian = EigenvalueCorrection.UseGramian(_strategy, _shape.SharedPositions, b.OutputSize, b.InputSize);
                EigenvalueCorrection.AccumulateWeight(_backend, x, y, _shape.BatchSize, _shape.SharedPositions, _shape.Vectors, qG, _bases[i].Right,
                    new Span2D<T>(_batchScalings, 0, b.OutputSize, b.InputSize, 0), _kappa, gramian, _workspace);
            }
            else
            {
                var sum = new ReadOnlySpan2D<T>(_summedGradients, 0, _shape.Vectors * _shape.BatchSize, Layer.OutputSize, 0);
                EigenvalueCorrection.AccumulateBias(_backend, sum, qG, batch, _kappa, _workspace);
            }

            var c = current.Slice(_sOffset[i], length);
            var n = next.Slice(_sOffset[i], length);
            for (int j = 0; j < length; j++)
            {
                n[j] = (keep * c[j]) + (add * batch[j]);
            }
        }
    }

    public override void Refresh(CurvatureBackend backend, Span<T> statistics, double damping)
    {
        Array.Clear(_refreshedThisStep);
        try
        {
            for (int i = 0; i < _layouts.Length; i++)
            {
                _bases[i].Prepare(backend, G(statistics, i), A(statistics, i), DampingMode.Exact, 0, 0, true, _context, CancellationToken.None);
                _bases[i].Commit();
                _refreshedThisStep[i] = true;
                InitialiseScalings(i, statistics);
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
                _bases[i].RevertLastCommit();
                _refreshedThisStep[i] = false;
            }
        }
    }

    public override void OnCommitted(bool refreshed) => Array.Clear(_refreshedThisStep);

    public override void StartBackgroundRefresh(ReadOnlySpan<T> statistics, double damping)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            _background.Start(i, G(statistics, i), A(statistics, i), DampingMode.Exact, 0, 0);
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
            if (_background.TrySwapIn(i, ref _bases[i]))
            {
                any = true;
                InitialiseScalings(i, committedStatistics);
            }
        }

        return any;
    }

    public override void WaitForBackgroundRefresh() => _background.Wait();

    public override void DiscardBackgroundRefresh() => _background.Discard();

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction) =>
        Apply(backend, statistics, gradient, direction, T.CreateChecked(damping), invert: true);

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result) =>
        Apply(backend, statistics, vector, result, T.Zero, invert: false);

    public override void WriteRepresentation(CheckpointWriter writer, string prefix)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            var basis = _bases[i];
            string p = $"{prefix}{i}.";
            writer.WriteBoolean(p + "hasBasis", basis.IsComputed);
            if (basis.IsComputed)
            {
                var f = basis.Front;
                writer.WriteValues<T>(p + "qG", f.G);
                writer.WriteValues<T>(p + "qA", f.A);
                writer.WriteValues<T>(p + "lambdaG", f.GValues);
                writer.WriteValues<T>(p + "lambdaA", f.AValues);
            }
        }
    }

    public override object? ReadRepresentation(CheckpointReader reader, string prefix)
    {
        var saved = new (T[] QG, T[] QA, T[] LG, T[] LA)?[_layouts.Length];
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            string p = $"{prefix}{i}.";
            if (!reader.ReadBoolean(p + "hasBasis"))
            {
                continue;
            }

            var qg = reader.ReadValues<T>(p + "qG", b.OutputSize * b.OutputSize);
            var qa = reader.ReadValues<T>(p + "qA", b.InputSize * b.InputSize);
            var lg = reader.ReadValues<T>(p + "lambdaG", b.OutputSize);
            var la = reader.ReadValues<T>(p + "lambdaA", b.InputSize);
            if (!FlatVector.AllFinite<T>(qg) || !FlatVector.AllFinite<T>(qa) || !FlatVector.AllFinite<T>(lg) || !FlatVector.AllFinite<T>(la))
            {
                throw new CheckpointFormatException($"The checkpoint holds a non-finite eigenbasis for {_context}.");
            }

            saved[i] = (qg, qa, lg, la);
        }

        return saved;
    }

    public override void RestoreRepresentation(object? state)
    {
        DiscardBackgroundRefresh();
        var saved = ((T[] QG, T[] QA, T[] LG, T[] LA)?[])state!;
        for (int i = 0; i < _layouts.Length; i++)
        {
            if (saved[i] is { } s)
            {
                _bases[i].Restore(DampingMode.Exact, 0, default, s.QG, s.QA, s.LG, s.LA);
            }
            else
            {
                _bases[i].Invalidate();
            }
        }
    }

    public override void ClearRepresentation()
    {
        DiscardBackgroundRefresh();
        foreach (var b in _bases)
        {
            b.Invalidate();
        }
    }

    public override void Dispose() => _background.Dispose();

    /// <summary>The scalings of a new basis start from the K-FAC eigenvalues <c>max(λ_G,i·λ_A,j, 0)</c>.</summary>
    private void InitialiseScalings(int i, Span<T> statistics)
    {
        var b = _layouts[i];
        var s = statistics.Slice(_sOffset[i], b.OutputSize * b.Columns);
        ReadOnlySpan<T> lg = _bases[i].LeftEigenvalues, la = _bases[i].RightEigenvalues;
        for (int r = 0; r < b.OutputSize; r++)
        {
            T g = T.Max(lg[r], T.Zero);
            for (int c = 0; c < b.Columns; c++)
            {
                s[(r * b.Columns) + c] = b.HasInputFactor ? g * T.Max(la[c], T.Zero) : g;
            }
        }
    }

    /// <summary><c>out = Q_G f(Q_Gᵀ V Q_A) Q_Aᵀ</c> with <c>f(z) = z / (s + λ)</c> (invert) or <c>z·s</c>.</summary>
    private void Apply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result, T lambda, bool invert)
    {
        for (int i = 0; i < _layouts.Length; i++)
        {
            var b = _layouts[i];
            int rows = b.OutputSize, cols = b.Columns;
            var packed = KroneckerPacking.Pack(b, WeightOffset, BiasOffset, vector, _packed);
            var scratch = new Span2D<T>(_scratch, 0, rows, cols, 0);
            ReadOnlySpan<T> s = statistics.Slice(_sOffset[i], rows * cols);
            if (b.HasInputFactor)
            {
                KroneckerKernels.Sandwich(backend, _bases[i].Left, true, _bases[i].Right, true, packed, scratch, 1);
            }
            else
            {
                backend.MatrixMultiply(_bases[i].Left, Transpose.Transpose, packed, Transpose.None, scratch, T.One, T.Zero);
                scratch.CopyTo(packed);
            }

            for (int r = 0; r < rows; r++)
            {
                Span<T> row = packed.GetRowSpan(r);
                for (int c = 0; c < cols; c++)
                {
                    T sv = s[(r * cols) + c];
                    row[c] = invert ? row[c] / (sv + lambda) : row[c] * sv;
                }
            }

            if (b.HasInputFactor)
            {
                KroneckerKernels.Sandwich(backend, _bases[i].Left, false, _bases[i].Right, false, packed, scratch, 1);
            }
            else
            {
                backend.MatrixMultiply(_bases[i].Left, Transpose.None, packed, Transpose.None, scratch, T.One, T.Zero);
                scratch.CopyTo(packed);
            }

            KroneckerPacking.Unpack(b, WeightOffset, BiasOffset, packed, result);
        }
    }

    private ReadOnlySpan<T> G(ReadOnlySpan<T> statistics, int i) => statistics.Slice(_gOffset[i], _layouts[i].OutputSize * _layouts[i].OutputSize);

    private ReadOnlySpan<T> A(ReadOnlySpan<T> statistics, int i) => statistics.Slice(_aOffset[i], _layouts[i].InputSize * _layouts[i].InputSize);

    private static Span2D<T> Buffer(ref T[] storage, int rows, int cols)
    {
        if (storage.Length < rows * cols)
        {
            storage = new T[rows * cols];
        }

        return new Span2D<T>(storage, 0, rows, cols, 0);
    }

}
