using System.Numerics;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Serialization;

namespace Curvature.Kfac;

/// <summary>
/// K-FAC for a network of dense layers: one <see cref="KfacLayerPreconditioner{T}"/> per layer, built from the layer
/// dimensions, and a learning rate; <see cref="ComputeStep"/> returns <c>−lr · G⁻¹ ∇W A⁻¹</c> for a layer.
/// </summary>
/// <remarks>Every rejected call leaves all layers' factors and cached inverses untouched. Not thread-safe. Dispose it
/// when the layers use <see cref="KfacInverseRefresh.Background"/> (it stops their worker threads).</remarks>
public sealed class KfacOptimizer<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const string CheckpointKind = "Curvature.KfacOptimizer";
    private const int SchemaVersion = 1;
    private readonly KfacLayerPreconditioner<T>[] _layers;
    private double _learningRate;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="backend">The dense kernels.</param>
    /// <param name="layerDimensions">(input size, output size) of each layer.</param>
    /// <param name="learningRate">The learning rate, positive and finite (the seed's default is 0.01).</param>
    /// <param name="options">Per-layer damping, EMA and refresh settings.</param>
    public KfacOptimizer(CurvatureBackend backend, IEnumerable<(int InputSize, int OutputSize)> layerDimensions, double learningRate = 0.01, KfacPreconditionerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(layerDimensions);
        ValidateLearningRate(learningRate);
        var dims = layerDimensions.ToArray();
        if (dims.Length == 0)
        {
            throw new ArgumentException("At least one layer is required.", nameof(layerDimensions));
        }

        _layers = [.. dims.Select((d, i) => new KfacLayerPreconditioner<T>(backend, d.InputSize, d.OutputSize, options, $"K-FAC layer {i}"))];
        _learningRate = learningRate;
    }

    /// <summary>Number of layers.</summary>
    public int LayerCount => _layers.Length;

    /// <summary>The learning rate (positive, finite).</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            ValidateLearningRate(value);
            _learningRate = value;
        }
    }

    /// <summary>The preconditioner of layer <paramref name="layerIndex"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public KfacLayerPreconditioner<T> Layer(int layerIndex) => _layers[CheckIndex(layerIndex)];

    /// <summary>Sets the damping of every layer (≥ 0; nothing changes on error).</summary>
    public void SetDamping(double damping)
    {
        var options = _layers[0].Options with { Damping = damping };
        options.Validate();
        foreach (var l in _layers)
        {
            l.Configure(l.Options with { Damping = damping });
        }
    }

    /// <summary>Updates the factors of one layer (see <see cref="KfacLayerPreconditioner{T}.Update"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public void UpdateLayer(int layerIndex, ReadOnlySpan2D<T> activations, ReadOnlySpan2D<T> gradients) =>
        _layers[CheckIndex(layerIndex)].Update(activations, gradients);

    /// <summary>The natural gradient of one layer (see <see cref="KfacLayerPreconditioner{T}.NaturalGradient"/>).</summary>
    public void NaturalGradientLayer(int layerIndex, ReadOnlySpan2D<T> weightGradient, Span2D<T> destination) =>
        _layers[CheckIndex(layerIndex)].NaturalGradient(weightGradient, destination);

    /// <summary>The update step of one layer: <c>destination = −lr · G⁻¹ ∇W A⁻¹</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public void ComputeStep(int layerIndex, ReadOnlySpan2D<T> weightGradient, Span2D<T> destination)
    {
        _layers[CheckIndex(layerIndex)].NaturalGradient(weightGradient, destination);
        T scale = T.CreateChecked(-_learningRate);
        for (int r = 0; r < destination.Height; r++)
        {
            foreach (ref T v in destination.GetRowSpan(r))
            {
                v *= scale;
            }
        }
    }

    /// <summary>Disposes every layer (stops background inverse workers). Safe to call more than once.</summary>
    public void Dispose()
    {
        foreach (var l in _layers)
        {
            l.Dispose();
        }
    }

    /// <summary>Resets every layer.</summary>
    public void Reset()
    {
        foreach (var l in _layers)
        {
            l.Reset();
        }
    }

    /// <summary>Writes the learning rate and every layer's running state as one checkpoint.</summary>
    public void Save(Stream destination)
    {
        var w = new CheckpointWriter(destination, CheckpointKind, SchemaVersion);
        w.WriteInt32("layerCount", _layers.Length);
        w.WriteDouble("learningRate", _learningRate);
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i].WriteEntries(w, $"layer{i}.");
        }

        w.Complete();
    }

    /// <summary>Restores a checkpoint written by <see cref="Save"/>; all layers are read and validated before any changes.</summary>
    /// <exception cref="CheckpointFormatException">Truncated, corrupted or mismatched (layer count or sizes); the state is untouched.</exception>
    public void Load(Stream source)
    {
        var r = CheckpointReader.Open(source, CheckpointKind, SchemaVersion);
        int count = r.ReadInt32("layerCount");
        if (count != _layers.Length)
        {
            throw new CheckpointFormatException($"The checkpoint has {count} layers; this optimizer has {_layers.Length}.");
        }

        double lr = r.ReadDouble("learningRate");
        if (!double.IsFinite(lr) || lr <= 0)
        {
            throw new CheckpointFormatException($"The checkpoint holds an invalid learning rate {lr}.");
        }

        var states = new KfacLayerPreconditioner<T>.SavedState[count];
        for (int i = 0; i < count; i++)
        {
            states[i] = _layers[i].ReadEntries(r, $"layer{i}.");
        }

        r.EnsureAtEnd();
        _learningRate = lr;
        for (int i = 0; i < count; i++)
        {
            _layers[i].Commit(states[i]);
        }
    }

    private int CheckIndex(int layerIndex)
    {
        if ((uint)layerIndex >= (uint)_layers.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(layerIndex), layerIndex, $"The layer index must lie in [0, {_layers.Length}).");
        }

        return layerIndex;
    }

    private static void ValidateLearningRate(double learningRate)
    {
        if (!double.IsFinite(learningRate) || learningRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be positive and finite.");
        }
    }
}
