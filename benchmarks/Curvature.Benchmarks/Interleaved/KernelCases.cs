using System.Numerics;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Internals;
using Curvature.Native.Interop;

namespace Curvature.Benchmarks.Interleaved;

/// <summary>GEMM: <c>C = A·B</c> (n × n, row-major, no transposes), Curvature's <c>MatrixMultiply</c> against bare
/// <c>cblas_?gemm</c>.</summary>
internal sealed unsafe class GemmCase<T> : InterleavedCase
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly BlasLapackExports _bare;
    private readonly AlignedBuffer<T> _a, _b, _c, _saved;

    public GemmCase(CurvatureBackend backend, BlasLapackExports bare, string baseline, int n)
        : base("gemm", typeof(T) == typeof(double) ? "double" : "float", n, backend.Name, baseline)
    {
        _backend = backend;
        _bare = bare;
        _a = Filled(SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 1)));
        _b = Filled(SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 2)));
        _c = new AlignedBuffer<T>(n * n);
        _saved = new AlignedBuffer<T>(n * n);
    }

    public override void Prepare()
    {
    }

    public override void RunA() => _backend.MatrixMultiply(_a.AsReadOnlySpan2D(N, N), Transpose.None, _b.AsReadOnlySpan2D(N, N), Transpose.None, _c.AsSpan2D(N, N), T.One, T.Zero);

    public override void RunB() => BareRoutines.Gemm(_bare, N, _a.DangerousGetPointer(), _b.DangerousGetPointer(), _c.DangerousGetPointer());

    public override void SaveA() => _c.CopyTo(_saved);

    public override string Compare() => Verdict(RelativeDifference<T>(_saved, _c, out bool same), same);

    internal static AlignedBuffer<T> Filled(T[] values)
    {
        var buffer = new AlignedBuffer<T>(values.Length);
        values.CopyTo(buffer.Span);
        return buffer;
    }
}

/// <summary>SYRK: lower(C) = AᵀA (A n × n), Curvature's <c>SymmetricRankKUpdate</c> against bare <c>cblas_?syrk</c>
/// (row-major, lower, transposed).</summary>
internal sealed unsafe class SyrkCase<T> : InterleavedCase
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly BlasLapackExports _bare;
    private readonly AlignedBuffer<T> _a, _c, _saved;

    public SyrkCase(CurvatureBackend backend, BlasLapackExports bare, string baseline, int n)
        : base("syrk", typeof(T) == typeof(double) ? "double" : "float", n, backend.Name, baseline)
    {
        _backend = backend;
        _bare = bare;
        _a = GemmCase<T>.Filled(SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 1)));
        _c = new AlignedBuffer<T>(n * n);
        _saved = new AlignedBuffer<T>(n * n);
    }

    public override void Prepare() => _c.Clear(); // the untouched upper triangle must compare equal

    public override void RunA() => _backend.SymmetricRankKUpdate(_a.AsReadOnlySpan2D(N, N), RankKForm.TransposeTimesMatrix, _c.AsSpan2D(N, N), Triangle.Lower, T.One, T.Zero);

    public override void RunB() => BareRoutines.Syrk(_bare, true, N, N, T.One, _a.DangerousGetPointer(), T.Zero, _c.DangerousGetPointer());

    public override void SaveA() => _c.CopyTo(_saved);

    public override string Compare() => Verdict(RelativeDifference<T>(_saved, _c, out bool same), same);
}

/// <summary>Cholesky inverse of an SPD matrix ((R + Rᵀ)/2 + n·I): Curvature's <c>TryInvertPositiveDefinite</c> (lower;
/// screen, ?potrf, ?potri, mirror to the full matrix) against bare ?potrf + ?potri. Compared on the lower triangle
/// (the bare routine leaves the other one as it was).</summary>
internal sealed unsafe class CholeskyInverseCase<T> : InterleavedCase
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly BlasLapackExports _bare;
    private readonly AlignedBuffer<T> _spd, _work, _saved;

    public CholeskyInverseCase(CurvatureBackend backend, BlasLapackExports bare, string baseline, int n)
        : base("cholinv", typeof(T) == typeof(double) ? "double" : "float", n, backend.Name, baseline)
    {
        _backend = backend;
        _bare = bare;
        _spd = GemmCase<T>.Filled(SeededData.SymmetricPositiveDefinite<T>(n, SeededData.SeedFor(n, 3)));
        _work = new AlignedBuffer<T>(n * n);
        _saved = new AlignedBuffer<T>(n * n);
    }

    public override void Prepare() => _spd.CopyTo(_work);

    public override void RunA()
    {
        if (!_backend.TryInvertPositiveDefinite(_work.AsSpan2D(N, N), Triangle.Lower).Succeeded)
        {
            throw new InvalidOperationException("Cholesky inverse failed.");
        }
    }

    public override void RunB()
    {
        if (BareRoutines.CholeskyInverse(_bare, true, N, _work.DangerousGetPointer()) != 0)
        {
            throw new InvalidOperationException("bare ?potrf/?potri failed.");
        }
    }

    public override void SaveA() => _work.CopyTo(_saved);

    public override string Compare()
    {
        int n = N;
        var a = new T[n * (n + 1) / 2];
        var b = new T[a.Length];
        int k = 0;
        bool symmetric = true;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++, k++)
            {
                a[k] = _saved[(i * n) + j];
                b[k] = _work[(i * n) + j];
                symmetric &= _saved[(j * n) + i] == _saved[(i * n) + j];
            }
        }

        string verdict = Verdict(RelativeDifference<T>(a, b, out bool same), same);
        return symmetric ? verdict : verdict + "; A NOT SYMMETRIC";
    }
}

/// <summary>Symmetric eigendecomposition of the same SPD matrix: Curvature's <c>TrySymmetricEigen</c> (lower; screen,
/// ?syevd, transpose into columns, sign rule) against bare ?syevd (eigenvectors left as rows of the row-major buffer).
/// B's vectors are transposed and given the sign rule (untimed) before the comparison.</summary>
internal sealed unsafe class SymmetricEigenCase<T> : InterleavedCase
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly CurvatureBackend _backend;
    private readonly BlasLapackExports _bare;
    private readonly AlignedBuffer<T> _spd, _work, _w, _saved, _savedW;
    private readonly int _lworkLength, _liworkLength;

    public SymmetricEigenCase(CurvatureBackend backend, BlasLapackExports bare, string baseline, int n)
        : base("syevd", typeof(T) == typeof(double) ? "double" : "float", n, backend.Name, baseline)
    {
        _backend = backend;
        _bare = bare;
        _spd = GemmCase<T>.Filled(SeededData.SymmetricPositiveDefinite<T>(n, SeededData.SeedFor(n, 3)));
        _work = new AlignedBuffer<T>(n * n);
        _w = new AlignedBuffer<T>(n);
        _saved = new AlignedBuffer<T>(n * n);
        _savedW = new AlignedBuffer<T>(n);
        (_lworkLength, _liworkLength) = BareRoutines.SyevdWorkspace<T>(bare, n);
    }

    public override void Prepare() => _spd.CopyTo(_work);

    public override void RunA()
    {
        if (!_backend.TrySymmetricEigen(_work.AsSpan2D(N, N), Triangle.Lower, _w.Span).Succeeded)
        {
            throw new InvalidOperationException("eigendecomposition failed.");
        }
    }

    public override void RunB()
    {
        // The same per-thread LAPACK workspace Curvature's call uses (the workspace's address relative to the matrix
        // changes MKL's ?syevd time by a few per cent through cache-set and 4 KiB aliasing effects).
        var workspace = Curvature.Native.Internals.NativeWorkspace.Current;
        T* work = workspace.Work<T>(_lworkLength);
        int* iwork = workspace.IWork(_liworkLength);
        if (BareRoutines.Syevd(_bare, true, N, _work.DangerousGetPointer(), _w.DangerousGetPointer(), work, _lworkLength, iwork, _liworkLength) != 0)
        {
            throw new InvalidOperationException("bare ?syevd failed.");
        }
    }

    public override void SaveA()
    {
        _work.CopyTo(_saved);
        _w.CopyTo(_savedW);
    }

    public override string Compare()
    {
        // B: eigenvector j is row j. Expected A: column j, with its largest-magnitude entry (lowest index) positive.
        int n = N;
        var expected = new T[n * n];
        for (int j = 0; j < n; j++)
        {
            int best = 0;
            for (int i = 1; i < n; i++)
            {
                if (T.Abs(_work[(j * n) + i]) > T.Abs(_work[(j * n) + best]))
                {
                    best = i;
                }
            }

            bool flip = _work[(j * n) + best] < T.Zero;
            for (int i = 0; i < n; i++)
            {
                T v = _work[(j * n) + i];
                expected[(i * n) + j] = flip ? -v : v;
            }
        }

        double values = RelativeDifference<T>(_savedW, _w, out bool sameValues);
        double vectors = RelativeDifference<T>(_saved, expected, out bool sameVectors);
        return sameValues && sameVectors ? "identical" : $"values {Verdict(values, sameValues)}, vectors {Verdict(vectors, sameVectors)}";
    }
}
