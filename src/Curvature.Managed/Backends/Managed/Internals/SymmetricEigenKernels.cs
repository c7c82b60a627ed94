using System.Numerics;
using System.Runtime.Intrinsics;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// Real symmetric eigensolver: Householder reduction to tridiagonal form, the implicit QL algorithm with
/// Wilkinson-type shifts on the tridiagonal matrix (rotations recorded per sweep and applied to the eigenvector
/// rows in cache-friendly chunks), back-transformation by the stored reflectors, eigenvalues sorted ascending.
/// </summary>
/// <remarks>
/// Algorithms as in Golub and Van Loan, "Matrix Computations" (4th ed.), §8.3 (tridiagonalisation) and the
/// implicit QL iteration of Bowdler, Martin, Reinsch and Wilkinson (Numer. Math. 11, 1968; EISPACK <c>tql2</c>).
/// <c>float</c> input is computed in <c>float</c> (like LAPACK <c>ssyevd</c>): eigenvalues are accurate to about
/// n·2⁻²³·‖A‖ and eigenvectors are orthonormal to about n·2⁻²³. Each eigenvalue gets at most 30 QL sweeps; if
/// that is not enough (e.g. NaN input) the routine returns <c>info = l + 1</c> for the first unconverged index l.
/// </remarks>
internal static unsafe class SymmetricEigenKernels
{
    private const int MaxSweepsPerEigenvalue = 30;

    /// <summary>
    /// Eigendecomposition of the symmetric matrix whose <paramref name="lower"/> (or upper) triangle is in the
    /// row-major <paramref name="a"/> (unit column stride). On success <paramref name="a"/> holds the eigenvectors
    /// as columns and <paramref name="eigenvalues"/> the eigenvalues ascending; returns LAPACK-style info.
    /// </summary>
    public static int Decompose<T>(StridedMatrix<T> a, bool lower, Span<T> eigenvalues)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;

        // Work on the full symmetric matrix: mirror the given triangle (a is overwritten by the result anyway).
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (lower)
                {
                    a[j, i] = a[i, j];
                }
                else
                {
                    a[i, j] = a[j, i];
                }
            }
        }

        T* work = KernelScratch.Get<T>(KernelScratch.EigenWork, (5L * n) + 16);
        T* d = work;
        T* e = d + n;
        T* tau = e + n;
        T* rotC = tau + n;
        T* rotS = rotC + n;
        T* zt = KernelScratch.Get<T>(KernelScratch.EigenVectors, (long)n * n);
        var z = StridedMatrix<T>.RowMajor(zt, n, n, n);

        Tridiagonalize(a, d, e, tau);

        for (int i = 0; i < n; i++)
        {
            T* row = z.Ptr(i, 0);
            new Span<T>(row, n).Clear();
            row[i] = T.One;
        }

        int info = TridiagonalQl(d, e, n, z, rotC, rotS);
        if (info != 0)
        {
            return info;
        }

        BackTransform(a, tau, z);

        // Sort ascending (selection sort on indices: O(n²), negligible next to O(n³)), then write the eigenvectors
        // as columns of a: a[r, j] = z[perm[j], r].
        int* order = KernelScratch.Get<int>(KernelScratch.EigenOrder, n);
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        for (int i = 0; i < n - 1; i++)
        {
            int best = i;
            for (int j = i + 1; j < n; j++)
            {
                if (d[order[j]] < d[order[best]])
                {
                    best = j;
                }
            }

            (order[i], order[best]) = (order[best], order[i]);
        }

        for (int j = 0; j < n; j++)
        {
            eigenvalues[j] = d[order[j]];
        }

        for (int r = 0; r < n; r++)
        {
            T* dst = a.Ptr(r, 0);
            for (int j = 0; j < n; j++)
            {
                dst[j] = z[order[j], r];
            }
        }

        return 0;
    }

    /// <summary>
    /// Householder tridiagonalisation of the full symmetric <paramref name="a"/> (row-major, unit column stride).
    /// Step i annihilates row i beyond the superdiagonal; its reflector v (v₀ = 1) is left in a[i, i+1 ..] and its
    /// scale in tau[i]. d gets the diagonal, e[i] = T[i, i+1].
    /// </summary>
    private static void Tridiagonalize<T>(StridedMatrix<T> a, T* d, T* e, T* tau)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        T* p = tau + n + n; // rotC area is free at this point: used for the vector p (length ≤ n)
        for (int i = 0; i < n; i++)
        {
            d[i] = a[i, i];
            tau[i] = T.Zero;
            int len = n - i - 1;
            if (len <= 0)
            {
                e[i] = T.Zero;
                continue;
            }

            T* x = a.Ptr(i, i + 1);
            if (len == 1)
            {
                e[i] = x[0];
                continue;
            }

            // Reflector H = I − τ·v·vᵀ with H·x = β·e₁.
            T alpha = x[0];
            T xnorm = Norm2(x + 1, len - 1);
            if (T.IsZero(xnorm))
            {
                e[i] = alpha;
                x[0] = T.One;
                continue; // τ = 0: nothing to do
            }

            T beta = -T.CopySign(Hypot(alpha, xnorm), alpha);
            T t = (beta - alpha) / beta;
            T scale = T.One / (alpha - beta);
            for (int q = 1; q < len; q++)
            {
                x[q] *= scale;
            }

            x[0] = T.One;
            e[i] = beta;
            tau[i] = t;

            // Trailing block A22 = a[i+1.., i+1..]: p = τ·A22·v; w = p − (τ/2)(pᵀv)·v; A22 −= v·wᵀ + w·vᵀ.
            var a22 = a.Slice(i + 1, i + 1, len, len);
            for (int r = 0; r < len; r++)
            {
                p[r] = t * SimdOps.Dot(a22.Ptr(r, 0), x, len);
            }

            T k = -T.CreateTruncating(0.5) * t * SimdOps.Dot(p, x, len);
            SimdOps.Axpy(p, x, k, len);
            for (int r = 0; r < len; r++)
            {
                T* row = a22.Ptr(r, 0);
                SimdOps.Axpy(row, p, -x[r], len);
                SimdOps.Axpy(row, x, -p[r], len);
            }
        }
    }

    /// <summary>Implicit QL with shifts on (d, e); rotations are accumulated into the rows of <paramref name="z"/> (eigenvectors as rows).</summary>
    private static int TridiagonalQl<T>(T* d, T* e, int n, StridedMatrix<T> z, T* rotC, T* rotS)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T eps = typeof(T) == typeof(double) ? T.CreateTruncating(2.220446049250313e-16) : T.CreateTruncating(1.1920929e-7);
        T two = T.CreateTruncating(2);
        e[n - 1] = T.Zero;
        for (int l = 0; l < n; l++)
        {
            int sweeps = 0;
            while (true)
            {
                int m = l;
                for (; m < n - 1; m++)
                {
                    T dd = T.Abs(d[m]) + T.Abs(d[m + 1]);
                    if (T.Abs(e[m]) <= eps * dd)
                    {
                        break;
                    }
                }

                if (m == l)
                {
                    break;
                }

                if (++sweeps > MaxSweepsPerEigenvalue)
                {
                    return l + 1;
                }

                // Shift from the leading 2 × 2 block (Wilkinson), folded into the first rotation.
                T g = (d[l + 1] - d[l]) / (two * e[l]);
                T r = Hypot(g, T.One);
                g = d[m] - d[l] + (e[l] / (g + T.CopySign(r, g)));
                T s = T.One, c = T.One, p = T.Zero;
                int count = 0;
                bool deflated = false;
                for (int i = m - 1; i >= l; i--)
                {
                    T f = s * e[i];
                    T b = c * e[i];
                    r = Hypot(f, g);
                    e[i + 1] = r;
                    if (T.IsZero(r))
                    {
                        d[i + 1] -= p;
                        e[m] = T.Zero;
                        deflated = true;
                        break;
                    }

                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = ((d[i] - g) * s) + (two * c * b);
                    p = s * r;
                    d[i + 1] = g + p;
                    g = (c * r) - b;
                    rotC[count] = c;
                    rotS[count] = s;
                    count++;
                }

                ApplyRotationChain(z, m, count, rotC, rotS);
                if (deflated)
                {
                    continue;
                }

                d[l] -= p;
                e[l] = g;
                e[m] = T.Zero;
            }
        }

        return 0;
    }

    /// <summary>
    /// Applies the rotations of one sweep to the rows of z: rotation q acts on rows (i, i+1) with i = top − 1 − q,
    /// as row[i+1] ← s·row[i] + c·row[i+1], row[i] ← c·row[i] − s·row[i+1]. The running row is kept in registers,
    /// so each rotation costs one load and one store per vector.
    /// </summary>
    private static void ApplyRotationChain<T>(StridedMatrix<T> z, int top, int count, T* rotC, T* rotS)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (count == 0)
        {
            return;
        }

        int n = z.Cols;
        nint rs = z.RowStride;
        int col = 0;
        if (SimdOps.Accelerated)
        {
            int w = Vector256<T>.Count;
            for (; col <= n - (2 * w); col += 2 * w)
            {
                T* rowTop = z.Ptr(top, col);
                var carry0 = Vector256.Load(rowTop);
                var carry1 = Vector256.Load(rowTop + w);
                T* rowI = rowTop;
                for (int q = 0; q < count; q++)
                {
                    T* next = rowI - rs;
                    var vc = Vector256.Create(rotC[q]);
                    var vs = Vector256.Create(rotS[q]);
                    var x0 = Vector256.Load(next);
                    var x1 = Vector256.Load(next + w);
                    Vector256.Store(SimdOps.Fma(vs, x0, vc * carry0), rowI);
                    Vector256.Store(SimdOps.Fma(vs, x1, vc * carry1), rowI + w);
                    carry0 = SimdOps.Fnma(vs, carry0, vc * x0);
                    carry1 = SimdOps.Fnma(vs, carry1, vc * x1);
                    rowI = next;
                }

                Vector256.Store(carry0, rowI);
                Vector256.Store(carry1, rowI + w);
            }
        }

        for (; col < n; col++)
        {
            T* rowI = z.Ptr(top, col);
            T carry = *rowI;
            for (int q = 0; q < count; q++)
            {
                T* next = rowI - rs;
                T x = *next;
                *rowI = (rotS[q] * x) + (rotC[q] * carry);
                carry = (rotC[q] * x) - (rotS[q] * carry);
                rowI = next;
            }

            *rowI = carry;
        }
    }

    /// <summary>Rows of z (eigenvectors of the tridiagonal matrix) ← Q·z with Q = H₀·H₁⋯, applied as z ← H·z per reflector.</summary>
    private static void BackTransform<T>(StridedMatrix<T> a, T* tau, StridedMatrix<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = a.Rows;
        const int Rows = 4;
        for (int r0 = 0; r0 < n; r0 += Rows)
        {
            int rows = Math.Min(Rows, n - r0);
            for (int i = n - 3; i >= 0; i--)
            {
                T t = tau[i];
                if (T.IsZero(t))
                {
                    continue;
                }

                int len = n - i - 1;
                T* v = a.Ptr(i, i + 1);
                for (int q = 0; q < rows; q++)
                {
                    T* zr = z.Ptr(r0 + q, i + 1);
                    T dot = SimdOps.Dot(zr, v, len);
                    SimdOps.Axpy(zr, v, -t * dot, len);
                }
            }
        }
    }

    private static T Norm2<T>(T* x, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Scaled to avoid overflow/underflow of the squares.
        T scale = T.Zero;
        for (int i = 0; i < length; i++)
        {
            scale = T.Max(scale, T.Abs(x[i]));
        }

        if (T.IsZero(scale) || !T.IsFinite(scale))
        {
            return scale;
        }

        T sum = T.Zero;
        T inv = T.One / scale;
        for (int i = 0; i < length; i++)
        {
            T v = x[i] * inv;
            sum += v * v;
        }

        return scale * T.Sqrt(sum);
    }

    private static T Hypot<T>(T x, T y)
        where T : unmanaged, IFloatingPointIeee754<T> => T.Hypot(x, y);
}
