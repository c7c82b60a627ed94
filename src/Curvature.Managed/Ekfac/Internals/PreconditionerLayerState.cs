using System.Numerics;
using CommunityToolkit.HighPerformance;

namespace Curvature.Ekfac.Internals;

/// <summary>Running factors, eigenbasis, scalings and preallocated workspaces of one dense layer of the preconditioner.</summary>
internal sealed class PreconditionerLayerState<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public PreconditionerLayerState(int outputSize, int inputSize, bool hasBias, int maxBatch)
    {
        D1 = outputSize;
        DIn = inputSize;
        HasBias = hasBias;
        D2 = inputSize + (hasBias ? 1 : 0);
        A = new T[D2 * D2];
        G = new T[D1 * D1];
        ANext = new T[D2 * D2];
        GNext = new T[D1 * D1];
        QA = new T[D2 * D2];
        QG = new T[D1 * D1];
        QANext = new T[D2 * D2];
        QGNext = new T[D1 * D1];
        ValuesA = new T[D2];
        ValuesG = new T[D1];
        Scalings = new T[D1 * D2];
        X = new T[maxBatch * D2];
        XRotated = new T[maxBatch * D2];
        YRotated = new T[maxBatch * D1];
        Step1 = new T[D1 * D2];
        Step2 = new T[D1 * D2];
    }

    public int D1 { get; }

    public int DIn { get; }

    public int D2 { get; }

    public bool HasBias { get; }

    public long Updates { get; set; }

    public T[] A { get; set; }

    public T[] G { get; set; }

    public T[] ANext { get; set; }

    public T[] GNext { get; set; }

    public T[] QA { get; set; }

    public T[] QG { get; set; }

    public T[] QANext { get; set; }

    public T[] QGNext { get; set; }

    public T[] ValuesA { get; }

    public T[] ValuesG { get; }

    public T[] Scalings { get; }

    public T[] X { get; }

    public T[] XRotated { get; }

    public T[] YRotated { get; }

    public T[] Step1 { get; }

    public T[] Step2 { get; }

    public static Span2D<T> View(T[] storage, int rows, int cols) => new(storage, 0, rows, cols, 0);
}
