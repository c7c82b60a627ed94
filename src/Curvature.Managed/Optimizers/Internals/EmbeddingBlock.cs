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
/// K-FAC for an embedding table <c>W [V, D]</c> looked up by indices (ASDL, nngeometry): the layer is a Linear layer on
/// one-hot inputs, so the input factor is diagonal, <c>A = diag(count_v) / (N·S)</c> (index frequencies over the N·S
/// positions; every position is a sample, K-FAC-expand), and <c>G = κ Σ g gᵀ</c> (<c>D × D</c>). The natural gradient of
/// row v is <c>(A_v + δ_A)⁻¹ ∇W[v, :] (G + δ_G)⁻¹</c> with the dampings of <see cref="DampingMode"/>
/// (π-damping: <c>π = √((tr A / V) / (tr G / D))</c>); exact damping uses the eigendecomposition of G:
/// <c>(∇W[v, :] Q / (A_v γ + λ)) Qᵀ</c>. Statistics layout: diag A (V), then G (D²).
/// </summary>
internal sealed class EmbeddingBlock<T> : CurvatureBlock<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _vocabulary;
    private readonly int _size;
    private readonly T[] _batch;
    private readonly DampingMode _mode;
    private readonly double _minDamping;
    private T[] _inverse;        // (G + δ_G)⁻¹, or the eigenvectors of G (exact)
    private T[] _previousInverse;
    private T[] _inputInverse;   // 1 / (A_v + δ_A), or A_v itself (exact)
    private T[] _previousInputInverse;
    private readonly T[] _eigenvalues;
    private readonly T[] _previousEigenvalues;
    private readonly T[] _work;
    private double _exactDamping;
    private double _previousExactDamping;
    private bool _computed;
    private bool _previousComputed;
    private bool _refreshed;
    private T[] _rows = [];

    public EmbeddingBlock(ModelSpec model, int layerIndex, int weightOffset, DampingMode mode, double minDamping)
        : base(model.Layers[layerIndex], layerIndex, weightOffset, -1)
    {
        _vocabulary = Layer.WeightInputSize;
        _size = Layer.OutputSize;
        _batch = new T[StatisticsLength];
        _mode = mode;
        _minDamping = minDamping;
        _inverse = new T[_size * _size];
        _previousInverse = new T[_size * _size];
        _inputInverse = new T[_vocabulary];
        _previousInputInverse = new T[_vocabulary];
        _eigenvalues = new T[_size];
        _previousEigenvalues = new T[_size];
        _work = new T[_vocabulary * _size];
    }

    public override int StatisticsLength => _vocabulary + (_size * _size);

    public override bool NeedsRefresh => true;

    public override bool HasRepresentation => _computed;

    public override OptimizerMemory Memory
    {
        get
        {
            long size = Unsafe.SizeOf<T>();
            return new OptimizerMemory(
                (_batch.Length + _rows.Length) * size,
                2L * (_inverse.Length + _inputInverse.Length + _eigenvalues.Length) * size,
                0,
                _work.Length * size);
        }
    }

    public override KfacBatchShape ValidateObservation(ReadOnlySpan<T> input, ReadOnlySpan<int> inputShape, ReadOnlySpan<T> gradients, ReadOnlySpan<int> gradientShape, in ObservationSettings settings)
    {
        if (inputShape.Length < 1)
        {
            throw new ArgumentException($"Embedding layer '{Layer.Name}' expects indices [N, S…].", nameof(inputShape));
        }

        long count = 1;
        foreach (int d in inputShape)
        {
            if (d < 1)
            {
                throw new ArgumentException($"The indices of layer '{Layer.Name}' have an empty axis.", nameof(inputShape));
            }

            count *= d;
        }

        if (input.Length != count)
        {
            throw new ArgumentException($"The indices hold {input.Length} values but their shape says {count}.", nameof(input));
        }

        foreach (T v in input)
        {
            if (!T.IsInteger(v) || v < T.Zero || v >= T.CreateChecked(_vocabulary))
            {
                throw new ArgumentException($"Embedding layer '{Layer.Name}' got index {v}; indices must be integers in [0, {_vocabulary}).", nameof(input));
            }
        }

        bool shapeOk = gradientShape.Length == inputShape.Length + 2 && gradientShape[0] >= 1 && gradientShape[^1] == _size
            && gradientShape[1..^1].SequenceEqual(inputShape);
        if (!shapeOk)
        {
            throw new ArgumentException(
                $"The output gradients of layer '{Layer.Name}' must be [V, {string.Join(", ", inputShape.ToArray())}, {_size}], but they are [{string.Join(", ", gradientShape.ToArray())}].",
                nameof(gradientShape));
        }

        if (gradients.Length != count * _size * gradientShape[0])
        {
            throw new ArgumentException($"The output gradients hold {gradients.Length} values but their shape says {count * _size * gradientShape[0]}.", nameof(gradients));
        }

        if (!FlatVector.AllFinite(gradients))
        {
            throw new ArgumentException($"The output gradients of layer '{Layer.Name}' contain NaN or infinity.", nameof(gradients));
        }

        int n = inputShape[0];
        OverflowGuard.EnsureSecondMomentFits<T>(OverflowGuard.MaxAbs(gradients), settings.GradientScale(n) * count * gradientShape[0], Layer.Name, "output gradients", nameof(gradients));
        return new KfacBatchShape(n, (int)(count / n), gradientShape[0], 0, 0);
    }

    public override void StageObservation(CurvatureBackend backend, ReadOnlySpan<T> input, ReadOnlySpan<T> gradients, KfacBatchShape shape, in ObservationSettings settings)
    {
        int positions = shape.BatchSize * shape.SharedPositions;
        Array.Clear(_batch);
        T weight = T.One / T.CreateChecked(positions);
        foreach (T v in input)
        {
            _batch[int.CreateTruncating(v)] += weight;
        }

        int rows = positions * shape.Vectors;
        if (_rows.Length < rows * _size)
        {
            _rows = new T[rows * _size];
        }

        gradients.CopyTo(_rows);
        var g = new Span2D<T>(_batch, _vocabulary, _size, _size, 0);
        FactorMath.AccumulateGram(backend, new ReadOnlySpan2D<T>(_rows, 0, rows, _size, 0), g, T.CreateChecked(settings.GradientScale(shape.BatchSize)));
        StagedBatchSize = shape.BatchSize;
        HasStagedObservation = true;
    }

    public override void Blend(ReadOnlySpan<T> current, Span<T> next, T keep, T add, ReadOnlySpan<T> gradient, int batchSize)
    {
        for (int i = 0; i < _batch.Length; i++)
        {
            next[i] = (keep * current[i]) + (add * _batch[i]);
        }
    }

    public override void Refresh(CurvatureBackend backend, Span<T> statistics, double damping)
    {
        ReadOnlySpan<T> a = statistics[.._vocabulary];
        ReadOnlySpan<T> g = statistics.Slice(_vocabulary, _size * _size);
        var target = new Span2D<T>(_previousInverse, _size, _size);
        g.CopyTo(_previousInverse);
        if (_mode == DampingMode.Exact)
        {
            backend.SymmetricEigen(target, Triangle.Lower, _previousEigenvalues);
            a.CopyTo(_previousInputInverse);
        }
        else
        {
            double traceG = double.CreateChecked(FactorMath.Trace(g, _size));
            double traceA = 0;
            foreach (T v in a)
            {
                traceA += double.CreateChecked(v);
            }

            var d = FactorDamping.For(_mode, damping, _minDamping, traceG, _size, traceA, _vocabulary);
            T dg = T.CreateChecked(d.Gradient), da = T.CreateChecked(d.Input);
            for (int i = 0; i < _size; i++)
            {
                _previousInverse[(i * _size) + i] += dg;
            }

            var status = backend.TryInvertPositiveDefinite(target, Triangle.Lower);
            if (!status.Succeeded)
            {
                throw new MatrixNotPositiveDefiniteException(status, _size, $"The damped gradient factor of layer '{Layer.Name}' (damping {d.Gradient})");
            }

            for (int v = 0; v < _vocabulary; v++)
            {
                _previousInputInverse[v] = T.One / (a[v] + da);
            }
        }

        // Swap in (the old representation stays in the "previous" buffers for a revert).
        (_inverse, _previousInverse) = (_previousInverse, _inverse);
        (_inputInverse, _previousInputInverse) = (_previousInputInverse, _inputInverse);
        if (_mode == DampingMode.Exact)
        {
            _eigenvalues.AsSpan().CopyTo(_work.AsSpan(0, _size));
            _previousEigenvalues.AsSpan().CopyTo(_eigenvalues);
            _work.AsSpan(0, _size).CopyTo(_previousEigenvalues);
        }

        _previousExactDamping = _exactDamping;
        _exactDamping = damping;
        _previousComputed = _computed;
        _computed = true;
        _refreshed = true;
    }

    public override void RevertRefresh()
    {
        if (!_refreshed)
        {
            return;
        }

        (_inverse, _previousInverse) = (_previousInverse, _inverse);
        (_inputInverse, _previousInputInverse) = (_previousInputInverse, _inputInverse);
        if (_mode == DampingMode.Exact)
        {
            _eigenvalues.AsSpan().CopyTo(_work.AsSpan(0, _size));
            _previousEigenvalues.AsSpan().CopyTo(_eigenvalues);
            _work.AsSpan(0, _size).CopyTo(_previousEigenvalues);
        }

        _exactDamping = _previousExactDamping;
        _computed = _previousComputed;
        _refreshed = false;
    }

    public override void OnCommitted(bool refreshed) => _refreshed = false;

    public override void Precondition(CurvatureBackend backend, ReadOnlySpan<T> statistics, double damping, ReadOnlySpan<T> gradient, Span<T> direction)
    {
        var grad = ReadOnlySpan2D<T>.DangerousCreate(gradient[WeightOffset], _vocabulary, _size, 0);
        var work = new Span2D<T>(_work, _vocabulary, _size);
        var result = Span2D<T>.DangerousCreate(ref direction[WeightOffset], _vocabulary, _size, 0);
        var inverse = new ReadOnlySpan2D<T>(_inverse, _size, _size);
        if (_mode != DampingMode.Exact)
        {
            backend.MatrixMultiply(grad, Transpose.None, inverse, Transpose.None, result, T.One, T.Zero);
            for (int v = 0; v < _vocabulary; v++)
            {
                T s = _inputInverse[v];
                foreach (ref T x in result.GetRowSpan(v))
                {
                    x *= s;
                }
            }

            return;
        }

        backend.MatrixMultiply(grad, Transpose.None, inverse, Transpose.None, work, T.One, T.Zero);
        T delta = T.CreateChecked(_exactDamping);
        for (int v = 0; v < _vocabulary; v++)
        {
            Span<T> row = work.GetRowSpan(v);
            for (int i = 0; i < _size; i++)
            {
                row[i] /= (_inputInverse[v] * _eigenvalues[i]) + delta;
            }
        }

        backend.MatrixMultiply<T>(work, Transpose.None, inverse, Transpose.Transpose, result, T.One, T.Zero);
    }

    public override void Multiply(CurvatureBackend backend, ReadOnlySpan<T> statistics, ReadOnlySpan<T> vector, Span<T> result)
    {
        var v = ReadOnlySpan2D<T>.DangerousCreate(vector[WeightOffset], _vocabulary, _size, 0);
        var r = Span2D<T>.DangerousCreate(ref result[WeightOffset], _vocabulary, _size, 0);
        var g = ReadOnlySpan2D<T>.DangerousCreate(statistics[_vocabulary], _size, _size, 0);
        backend.MatrixMultiply(v, Transpose.None, g, Transpose.None, r, T.One, T.Zero);
        for (int row = 0; row < _vocabulary; row++)
        {
            T a = statistics[row];
            foreach (ref T x in r.GetRowSpan(row))
            {
                x *= a;
            }
        }
    }

    public override void ClearRepresentation()
    {
        _computed = false;
        _refreshed = false;
    }

    public override void WriteRepresentation(CheckpointWriter writer, string prefix)
    {
        writer.WriteBoolean(prefix + "computed", _computed);
        if (_computed)
        {
            writer.WriteDouble(prefix + "exactDamping", _exactDamping);
            writer.WriteValues<T>(prefix + "inverse", _inverse);
            writer.WriteValues<T>(prefix + "inputInverse", _inputInverse);
            writer.WriteValues<T>(prefix + "eigenvalues", _eigenvalues);
        }
    }

    public override object? ReadRepresentation(CheckpointReader reader, string prefix)
    {
        if (!reader.ReadBoolean(prefix + "computed"))
        {
            return null;
        }

        double exact = reader.ReadDouble(prefix + "exactDamping");
        var inverse = reader.ReadValues<T>(prefix + "inverse", _inverse.Length);
        var input = reader.ReadValues<T>(prefix + "inputInverse", _inputInverse.Length);
        var values = reader.ReadValues<T>(prefix + "eigenvalues", _eigenvalues.Length);
        if (!double.IsFinite(exact) || exact < 0 || !FlatVector.AllFinite<T>(inverse) || !FlatVector.AllFinite<T>(input) || !FlatVector.AllFinite<T>(values))
        {
            throw new CheckpointFormatException($"The checkpoint holds an invalid representation of layer '{Layer.Name}'.");
        }

        return (exact, inverse, input, values);
    }

    public override void RestoreRepresentation(object? state)
    {
        _refreshed = false;
        if (state is not (double exact, T[] inverse, T[] input, T[] values))
        {
            _computed = false;
            return;
        }

        _exactDamping = exact;
        inverse.CopyTo(_inverse, 0);
        input.CopyTo(_inputInverse, 0);
        values.CopyTo(_eigenvalues, 0);
        _computed = true;
    }
}
