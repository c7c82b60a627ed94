using System.Numerics;
using CommunityToolkit.HighPerformance;
using CsCheck;
using Curvature.Backends;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Fuzz;

/// <summary>
/// The kernels on managed, OpenBLAS and MKL with hostile inputs (shapes, pitches, empty and overlapping operands, NaN/∞
/// scales, tiny/huge/non-finite values, matrices that are not positive definite). Properties: every backend accepts and
/// rejects exactly the same calls (same exception type and parameter, same factorisation status); a rejected call writes
/// nothing; a status-returning routine that succeeds on finite input returns finite values; padding and the untouched
/// triangle stay untouched; and on ordinary values the backends agree numerically.
/// </summary>
public class KernelFuzzTests
{
    /// <summary>One kernel call, drawn compactly (the matrices come from <see cref="DataSeed"/>) so that shrinking works on sizes.</summary>
    public sealed record KernelCase(int Op, bool IsDouble, int M, int N, int K, int Pad, int Flags, ValueKind Kind, int DataSeed)
    {
        public override string ToString() =>
            $"op {Ops[Op]} {(IsDouble ? "double" : "float")} m={M} n={N} k={K} pad={Pad} flags={Flags:x} kind={Kind} seed={DataSeed}";
    }


    private static readonly string[] Ops = ["gemm", "syrk", "potrf", "potri", "potrs", "syevd", "invert"];

    private static readonly Gen<KernelCase> Cases =
        Gen.Select(Gen.Int[0, Ops.Length - 1], Gen.Bool, Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[0, 3], Gen.Int[0, 4095], Gen.Enum<ValueKind>())
            .SelectMany(t => Gen.Int.Select(seed => new KernelCase(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6, t.Item7, t.Item8, seed)));

    [Fact]
    public void Kernels_AllBackendsAgree_OnHostileInput()
    {
        var backends = new[] { TestBackends.Get("managed"), TestBackends.Get("openblas"), TestBackends.Get("mkl") };
        Fuzz.Check(Cases, c =>
        {
            if (c.IsDouble)
            {
                Run<double>(backends, c);
            }
            else
            {
                Run<float>(backends, c);
            }
        });
    }

    /// <summary>What one backend did with one case.</summary>
    private sealed record Outcome<T>(string? Error, string? Param, int? Info, T[][] Buffers);

    private static void Run<T>(CurvatureBackend[] backends, KernelCase c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var inputs = BuildInputs<T>(c, out var shapes);
        var outcomes = backends.Select(b => Invoke(b, c, inputs, shapes)).ToArray();
        var reference = outcomes[0];
        for (int i = 1; i < outcomes.Length; i++)
        {
            var o = outcomes[i];
            string who = $"{backends[i].Name} vs managed on {c}";
            Assert.True(reference.Error == o.Error && reference.Param == o.Param, $"{who}: {reference.Error}({reference.Param}) vs {o.Error}({o.Param})");
            // Both fail or both succeed. Where the failure index depends on rounding order (a factorisation that overflows
            // inside, with values near the range limits), it may differ; everywhere else it must be the same.
            bool rangeLimits = c.Kind is ValueKind.Tiny or ValueKind.Huge or ValueKind.Mixed;
            Assert.True(reference.Info == o.Info || (rangeLimits && reference.Info > 0 && o.Info > 0), $"{who}: info {reference.Info} vs {o.Info}");
        }

        bool finiteInput = inputs.All(a => HostileValues.AllFinite<T>(a));
        foreach (var (o, b) in outcomes.Zip(backends))
        {
            if (o.Error is not null)
            {
                // A rejected call writes nothing.
                for (int j = 0; j < inputs.Length; j++)
                {
                    Assert.True(inputs[j].AsSpan().SequenceEqual(o.Buffers[j]), $"{b.Name}: rejected call ({o.Error}) changed buffer {j} on {c}");
                }

                continue;
            }

            CheckUntouched(c, shapes, inputs, o.Buffers, b.Name);
            if (finiteInput && o.Info == 0 && c.Op >= 2 && c.Op != 4)
            {
                Assert.True(HostileValues.AllFinite<T>(o.Buffers[0]), $"{b.Name}: success with non-finite output on finite input, {c}");
            }
        }

        if (reference.Error is null && reference.Info is null or 0 && c.Kind is ValueKind.Normal or ValueKind.PositiveDefinite)
        {
            for (int i = 1; i < outcomes.Length; i++)
            {
                CompareNumerically(c, reference.Buffers, outcomes[i].Buffers, backends[i].Name);
            }
        }
    }

    /// <summary>Operand layout: per buffer, rows, columns and pitch (padding per row).</summary>
    private sealed record Shape(int Rows, int Cols, int Pitch, bool Ambiguous);

    private static T[][] BuildInputs<T>(KernelCase c, out Shape[] shapes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(c.DataSeed);
        bool f(int bit) => (c.Flags & (1 << bit)) != 0;
        int pad = c.Pad;
        int wrong(int bit) => f(bit) ? 1 : 0;
        switch (c.Op)
        {
            case 0: // GEMM: A m×k (or k×m), B k×n (or n×k), C m×n
                shapes =
                [
                    f(0) ? new(c.K + wrong(3), c.M, pad, false) : new(c.M, c.K + wrong(3), pad, false),
                    f(1) ? new(c.N, c.K + wrong(4), pad, false) : new(c.K + wrong(4), c.N, pad, false),
                    new(c.M + wrong(5), c.N, pad, false),
                ];
                if (f(9))
                {
                    shapes[0] = shapes[0] with { Ambiguous = true };
                }

                break;
            case 1: // SYRK: A k×n (transposed) or n×k, C n×n
                shapes =
                [
                    f(0) ? new(c.K, c.N + wrong(3), pad, f(9)) : new(c.N + wrong(3), c.K, pad, f(9)),
                    new(c.N, c.N + wrong(5), pad, false),
                ];
                break;
            case 4: // POTRS: factor n×n, B n×k
                shapes = [new(c.N, c.N + wrong(5), pad, false), new(c.N + wrong(4), c.K, pad, false)];
                break;
            case 5: // SYEVD: A n×n, eigenvalues n
                shapes = [new(c.N, c.N + wrong(5), pad, false), new(1, c.N + wrong(4), 0, false)];
                break;
            default: // POTRF, POTRI, invert: A n×n
                shapes = [new(c.N, c.N + wrong(5), pad, false)];
                break;
        }

        var buffers = new T[shapes.Length][];
        for (int i = 0; i < shapes.Length; i++)
        {
            var s = shapes[i];
            var data = new T[Math.Max(0, (s.Rows * (s.Cols + s.Pitch)) - s.Pitch)];
            for (int j = 0; j < data.Length; j++)
            {
                data[j] = HostileValues.Next<T>(rng, c.Kind == ValueKind.PositiveDefinite ? ValueKind.Normal : c.Kind);
            }

            buffers[i] = data;
        }

        if (c.Kind == ValueKind.PositiveDefinite && shapes[0].Rows == shapes[0].Cols)
        {
            MakePositiveDefinite(buffers[0], shapes[0]);
            if (c.Op is 3 or 4)
            {
                // POTRI/POTRS take a factor: factor it once with the managed reference.
                new Curvature.Backends.Managed.ManagedBackend().CholeskyFactor(View(buffers[0], shapes[0]), f(2) ? Triangle.Upper : Triangle.Lower);
            }
        }

        if (c.Op == 0 && f(8) && buffers[2].Length > 0 && buffers[0].Length > 0)
        {
            buffers[2] = buffers[0]; // C overlaps A: rejected
        }

        return buffers;
    }

    private static void MakePositiveDefinite<T>(T[] data, Shape s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = s.Rows;
        var x = new double[n, n];
        var view = View(data, s);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                x[i, j] = double.CreateTruncating(view[i, j]);
            }
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = i == j ? 1 : 0;
                for (int p = 0; p < n; p++)
                {
                    sum += x[i, p] * x[j, p] / n;
                }

                view[i, j] = T.CreateTruncating(sum);
            }
        }
    }

    private static Span2D<T> View<T>(T[] data, Shape s) =>
        s.Ambiguous && s.Rows * s.Cols == 0 ? default : new Span2D<T>(data, 0, s.Rows, s.Cols, s.Rows <= 1 ? 0 : s.Pitch);

    private static Outcome<T> Invoke<T>(CurvatureBackend b, KernelCase c, T[][] inputs, Shape[] shapes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Fresh copies (aliasing preserved) so every backend sees identical inputs.
        var buffers = new T[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            int alias = Array.FindIndex(inputs, 0, i, x => ReferenceEquals(x, inputs[i]));
            buffers[i] = alias >= 0 ? buffers[alias] : (T[])inputs[i].Clone();
        }

        bool f(int bit) => (c.Flags & (1 << bit)) != 0;
        var triangle = f(2) ? Triangle.Upper : Triangle.Lower;
        T alpha = f(6) ? Special<T>(c.Flags >> 10) : T.CreateTruncating(1.5);
        T beta = f(7) ? Special<T>(c.Flags >> 8) : T.CreateTruncating(c.Flags % 3 == 0 ? 0 : 0.5);
        int? info = null;
        try
        {
            switch (c.Op)
            {
                case 0:
                    b.MatrixMultiply<T>(View(buffers[0], shapes[0]), f(0) ? Transpose.Transpose : Transpose.None, View(buffers[1], shapes[1]), f(1) ? Transpose.Transpose : Transpose.None, View(buffers[2], shapes[2]), alpha, beta);
                    break;
                case 1:
                    b.SymmetricRankKUpdate<T>(View(buffers[0], shapes[0]), f(0) ? RankKForm.TransposeTimesMatrix : RankKForm.MatrixTimesTranspose, View(buffers[1], shapes[1]), triangle, alpha, beta);
                    break;
                case 2:
                    info = b.TryCholeskyFactor(View(buffers[0], shapes[0]), triangle).Info;
                    break;
                case 3:
                    info = b.TryCholeskyInverse(View(buffers[0], shapes[0]), triangle).Info;
                    break;
                case 4:
                    b.CholeskySolve<T>(View(buffers[0], shapes[0]), triangle, View(buffers[1], shapes[1]));
                    break;
                case 5:
                    info = b.TrySymmetricEigen(View(buffers[0], shapes[0]), triangle, buffers[1].AsSpan(0, Math.Min(buffers[1].Length, shapes[1].Cols))).Info;
                    break;
                default:
                    info = b.TryInvertPositiveDefinite(View(buffers[0], shapes[0]), triangle).Info;
                    break;
            }
        }
        catch (Exception e) when (e is ArgumentException or MatrixNotPositiveDefiniteException or NotSupportedException)
        {
            string param = e is ArgumentException a ? a.ParamName ?? "" : e is MatrixNotPositiveDefiniteException m ? $"info {m.Info}" : "";
            return new Outcome<T>(e.GetType().Name, param, null, buffers);
        }

        return new Outcome<T>(null, null, info, buffers);
    }

    private static T Special<T>(int selector)
        where T : IFloatingPointIeee754<T> => (selector & 3) switch
        {
            0 => T.NaN,
            1 => T.PositiveInfinity,
            2 => T.NegativeInfinity,
            _ => T.Zero,
        };

    /// <summary>Padding is never written; a triangular routine leaves the other triangle alone.</summary>
    private static void CheckUntouched<T>(KernelCase c, Shape[] shapes, T[][] before, T[][] after, string backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < shapes.Length; i++)
        {
            var s = shapes[i];
            if (s.Rows <= 1 || s.Pitch == 0)
            {
                continue;
            }

            for (int r = 0; r < s.Rows - 1; r++)
            {
                for (int p = 0; p < s.Pitch; p++)
                {
                    int at = (r * (s.Cols + s.Pitch)) + s.Cols + p;
                    Assert.True(before[i][at].Equals(after[i][at]) || (T.IsNaN(before[i][at]) && T.IsNaN(after[i][at])), $"{backend}: padding of buffer {i} written on {c}");
                }
            }
        }

        bool upper = (c.Flags & 4) != 0;
        int matrix = c.Op == 1 ? 1 : 0;
        if (c.Op is 1 or 2 && shapes[matrix].Rows == shapes[matrix].Cols)
        {
            var s = shapes[matrix];
            for (int r = 0; r < s.Rows; r++)
            {
                for (int col = 0; col < s.Cols; col++)
                {
                    if (upper ? col < r : col > r)
                    {
                        int at = (r * (s.Cols + s.Pitch)) + col;
                        T x = before[matrix][at], y = after[matrix][at];
                        Assert.True(x.Equals(y) || (T.IsNaN(x) && T.IsNaN(y)), $"{backend}: the other triangle was written on {c}");
                    }
                }
            }
        }
    }

    private static void CompareNumerically<T>(KernelCase c, T[][] expected, T[][] actual, string backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // SYEVD: compare the eigenvalues only (eigenvectors of close eigenvalues are not unique).
        int first = c.Op == 5 ? 1 : 0;
        double tolerance = typeof(T) == typeof(double) ? 1e-9 : 2e-3;
        for (int i = first; i < expected.Length; i++)
        {
            if (c.Op == 0 && i < 2 || c.Op is 1 or 4 && i == 0)
            {
                continue; // inputs only
            }

            double scale = 0;
            foreach (T v in expected[i])
            {
                if (T.IsFinite(v))
                {
                    scale = Math.Max(scale, Math.Abs(double.CreateTruncating(v)));
                }
            }

            for (int j = 0; j < expected[i].Length; j++)
            {
                T x = expected[i][j], y = actual[i][j];
                if (!T.IsFinite(x) || !T.IsFinite(y))
                {
                    Assert.True(!T.IsFinite(x) && !T.IsFinite(y), $"{backend}: non-finite pattern differs at {j} of buffer {i} ({x} vs {y}) on {c}");
                    continue;
                }

                double diff = Math.Abs(double.CreateTruncating(x) - double.CreateTruncating(y));
                Assert.True(diff <= tolerance * Math.Max(scale, 1e-300) * (1 + c.K + c.N), $"{backend}: {x} vs {y} at {j} of buffer {i} on {c}");
            }
        }
    }
}
