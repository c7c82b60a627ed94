using System.Numerics;
using System.Runtime.CompilerServices;

namespace Curvature.Backends.Managed.Internals;

/// <summary>
/// All eigenvalues and eigenvectors of a symmetric tridiagonal matrix by divide and conquer (Cuppen, Numer. Math. 36,
/// 1981), in the form of LAPACK's <c>?stedc</c>/<c>?laed0</c>–<c>?laed4</c>: the matrix is split in halves down to
/// blocks of at most <see cref="LeafOrder"/> (solved by implicit QL), and each pair of solved halves is merged through
/// the rank-one modification <c>D + ρ·z·zᵀ</c>:
/// <list type="number">
/// <item>deflation: components with ρ|zᵢ| ≤ 8ε·max(|d|, |z|) keep their eigenpair, and of two poles closer than that
/// (after a Givens rotation that zeroes one zᵢ) one is deflated (Dongarra and Sorensen, SIAM J. Sci. Stat. Comput. 8,
/// 1987);</item>
/// <item>the secular equation <c>1/ρ + Σ zⱼ²/(dⱼ − λ) = 0</c> is solved for each root in its pole interval, relative to
/// the nearer pole (so that every dⱼ − λ is known to high relative accuracy), with a two-pole rational model step
/// (Bunch, Nielsen and Sorensen, Numer. Math. 31, 1978) safeguarded by bisection;</item>
/// <item>z is recomputed from the computed roots (Löwner's formula as used by Gu and Eisenstat, SIAM J. Matrix Anal.
/// Appl. 16, 1995), which makes the eigenvectors <c>ẑⱼ/(dⱼ − λᵢ)</c> numerically orthogonal;</item>
/// <item>the eigenvectors of the merged block are the solved halves' eigenvectors times those of the rank-one
/// problem: two packed GEMMs that skip the zero blocks (columns that live in one half only).</item>
/// </list>
/// Within a block, eigenpairs are kept in an arbitrary column order with an index of their ascending order (as
/// LAPACK's INDXQ), so no merge moves columns only to sort them.
/// </summary>
[SkipLocalsInit]
internal static unsafe class TridiagonalDivideAndConquer
{
    /// <summary>Blocks of at most this order are solved directly (LAPACK's SMLSIZ).</summary>
    public const int LeafOrder = 25;

    /// <summary>Iterations of the secular-equation solver per root (bisection alone needs about 60 in double).</summary>
    private const int MaxSecularIterations = 120;

    /// <summary>
    /// Eigen-decomposes the tridiagonal matrix with diagonal <paramref name="d"/> and off-diagonal <paramref name="e"/>
    /// (e[i] couples i and i+1; e is destroyed). On return d[c] is the eigenvalue whose eigenvector is column c of
    /// <paramref name="q"/> (n × n, unit column stride) and <paramref name="order"/>[s] is the column of the s-th
    /// smallest eigenvalue. Returns 0, or LAPACK-style info &gt; 0 when a leaf's QL iteration did not converge.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Solve<T>(T* d, T* e, int n, StridedMatrix<T> q, int* order)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < n; r++)
        {
            new Span<T>(q.Ptr(r, 0), n).Clear();
        }

        // The deflation tolerances compare ρ·|z| (z of unit norm) with ε·max(|d|, |z|): like LAPACK ?stedc, work on the
        // matrix scaled to max-norm about 1 (by a power of two, exactly) and scale the eigenvalues back.
        T norm = T.Zero;
        for (int i = 0; i < n; i++)
        {
            norm = T.Max(norm, T.Abs(d[i]));
        }

        for (int i = 0; i < n - 1; i++)
        {
            norm = T.Max(norm, T.Abs(e[i]));
        }

        int exponent = T.IsZero(norm) ? 0 : -T.ILogB(norm);
        if (exponent != 0)
        {
            for (int i = 0; i < n; i++)
            {
                d[i] = T.ScaleB(d[i], exponent);
            }

            for (int i = 0; i < n - 1; i++)
            {
                e[i] = T.ScaleB(e[i], exponent);
            }
        }

        var scratch = new Scratch<T>(n);
        int info = SolveBlock(d, e, 0, n, q, order, scratch);
        if (exponent != 0)
        {
            for (int i = 0; i < n; i++)
            {
                d[i] = T.ScaleB(d[i], -exponent);
            }
        }

        return info;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SolveBlock<T>(T* d, T* e, int lo, int n, StridedMatrix<T> q, int* order, Scratch<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n <= LeafOrder)
        {
            int leafInfo = SolveLeaf(d + lo, e + lo, n, q.Slice(lo, lo, n, n), order + lo, scratch);
            return leafInfo == 0 ? 0 : lo + leafInfo;
        }

        // T = diag(T₁ − |ρ|·e_m e_mᵀ, T₂ − |ρ|·e₁e₁ᵀ) + ρ·v·vᵀ with v = [e_m; sign(ρ)·e₁] (Cuppen's tear).
        int m = n / 2;
        T rho = e[lo + m - 1];
        d[lo + m - 1] -= T.Abs(rho);
        d[lo + m] -= T.Abs(rho);
        int info = SolveBlock(d, e, lo, m, q, order, scratch);
        if (info == 0)
        {
            info = SolveBlock(d, e, lo + m, n - m, q, order, scratch);
        }

        if (info == 0)
        {
            Merge(d + lo, q.Slice(lo, lo, n, n), order + lo, m, n, rho, scratch);
        }

        return info;
    }

    /// <summary>A small block by implicit QL: eigenvectors as rows of a local matrix, written as columns of q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SolveLeaf<T>(T* d, T* e, int n, StridedMatrix<T> q, int* order, Scratch<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var z = StridedMatrix<T>.RowMajor(scratch.Leaf, n, n, n);
        for (int i = 0; i < n; i++)
        {
            T* row = z.Ptr(i, 0);
            new Span<T>(row, n).Clear();
            row[i] = T.One;
        }

        // Like LAPACK ?steqr on each unreduced block: iterate on the block scaled to max-norm about 1 (exactly, by a
        // power of two), so that a block of tiny (even subnormal) entries keeps full precision in its rotations.
        T norm = T.Zero;
        for (int i = 0; i < n; i++)
        {
            norm = T.Max(norm, T.Abs(d[i]));
        }

        for (int i = 0; i < n - 1; i++)
        {
            norm = T.Max(norm, T.Abs(e[i]));
        }

        int exponent = T.IsZero(norm) ? 0 : -T.ILogB(norm);
        for (int i = 0; i < n; i++)
        {
            d[i] = T.ScaleB(d[i], exponent);
        }

        for (int i = 0; i < n - 1; i++)
        {
            e[i] = T.ScaleB(e[i], exponent);
        }

        int info = SymmetricEigenKernels.TridiagonalQlWithVectors(d, e, n, z);
        if (info != 0)
        {
            return info;
        }

        for (int i = 0; i < n; i++)
        {
            d[i] = T.ScaleB(d[i], -exponent);
        }

        for (int r = 0; r < n; r++)
        {
            T* dst = q.Ptr(r, 0);
            for (int c = 0; c < n; c++)
            {
                dst[c] = z[c, r];
            }
        }

        // Ascending order by insertion (n ≤ LeafOrder).
        for (int i = 0; i < n; i++)
        {
            int v = i, j = i;
            for (; j > 0 && d[order[j - 1]] > d[v]; j--)
            {
                order[j] = order[j - 1];
            }

            order[j] = v;
        }

        return 0;
    }

    /// <summary>
    /// Merges the solved halves of a block of order n (first half n1): on entry the block of <paramref name="q"/> is
    /// diag(Q₁, Q₂), d the halves' eigenvalues by column and order[0..n1) / order[n1..n) their ascending orders (local to
    /// each half); on exit q, d and order describe the whole block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Merge<T>(T* d, StridedMatrix<T> q, int* order, int n1, int n, T rho, Scratch<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T eps = Epsilon<T>();
        T* z = s.Z;
        int* sorted = s.Sorted;
        int* type = s.Type;

        // z = Qᵀv: the last row of Q₁ and the first row of Q₂ (scaled by sign(ρ)); ‖z‖² = 2, so z/√2 and ρ·2.
        T invRoot2 = T.One / T.Sqrt(T.CreateTruncating(2));
        T* last1 = q.Ptr(n1 - 1, 0);
        T* first2 = q.Ptr(n1, 0);
        T sign2 = rho < T.Zero ? -invRoot2 : invRoot2;
        for (int c = 0; c < n1; c++)
        {
            z[c] = last1[c] * invRoot2;
            type[c] = 1;
        }

        for (int c = n1; c < n; c++)
        {
            z[c] = first2[c] * sign2;
            type[c] = 3;
        }

        rho = T.Abs(rho) * T.CreateTruncating(2);

        // The halves' eigenvalues in ascending order (a merge of two sorted lists), as block columns.
        int i1 = 0, i2 = 0, n2 = n - n1;
        for (int p = 0; p < n; p++)
        {
            if (i2 >= n2 || (i1 < n1 && d[order[i1]] <= d[n1 + order[n1 + i2]]))
            {
                sorted[p] = order[i1++];
            }
            else
            {
                sorted[p] = n1 + order[n1 + i2++];
            }
        }

        // Deflation (LAPACK ?laed2's tests): small z components, then pairs of close poles (a rotation moves the
        // weight of the first onto the second and deflates the first).
        T dmax = T.Zero, zmax = T.Zero;
        for (int c = 0; c < n; c++)
        {
            dmax = T.Max(dmax, T.Abs(d[c]));
            zmax = T.Max(zmax, T.Abs(z[c]));
        }

        T tol = T.CreateTruncating(8) * eps * T.Max(dmax, zmax);
        int* kept = s.Kept;          // non-deflated columns, ascending eigenvalue
        int* deflated = s.Deflated;  // deflated columns, kept sorted by eigenvalue
        int k = 0, nd = 0, previous = -1;
        for (int p = 0; p < n; p++)
        {
            int c = sorted[p];
            if (rho * T.Abs(z[c]) <= tol)
            {
                InsertDeflated(deflated, ref nd, c, d);
                continue;
            }

            if (previous < 0)
            {
                previous = c;
                continue;
            }

            T sn = z[previous], cs = z[c];
            T r = T.Hypot(cs, sn);
            T gap = d[c] - d[previous];
            cs /= r;
            sn = -sn / r;
            if (T.Abs(gap * cs * sn) <= tol)
            {
                z[c] = r;
                z[previous] = T.Zero;
                if (type[previous] != type[c])
                {
                    type[c] = 2;
                }

                RotateColumns(q, previous, c, cs, sn);
                T dp = d[previous], dc = d[c];
                d[previous] = (dp * cs * cs) + (dc * sn * sn);
                d[c] = (dp * sn * sn) + (dc * cs * cs);
                InsertDeflated(deflated, ref nd, previous, d);
            }
            else
            {
                kept[k++] = previous;
            }

            previous = c;
        }

        if (previous >= 0)
        {
            kept[k++] = previous;
        }

        // The rank-one problem of the k kept poles, with ‖z‖ = 1 again.
        T* dl = s.Poles;
        T* zk = s.Weights;
        T norm = T.Zero;
        for (int j = 0; j < k; j++)
        {
            dl[j] = d[kept[j]];
            zk[j] = z[kept[j]];
            norm += zk[j] * zk[j];
        }

        if (k > 0)
        {
            T inv = T.One / T.Sqrt(norm);
            for (int j = 0; j < k; j++)
            {
                zk[j] *= inv;
            }

            rho *= norm;
        }

        // Column order for the products: kept columns grouped by type (top-only, both halves, bottom-only), so each
        // half's rows multiply only the columns that are non-zero there; then the deflated columns.
        int* position = s.Position;
        int t1 = 0, t2 = 0;
        for (int j = 0; j < k; j++)
        {
            if (type[kept[j]] == 1)
            {
                t1++;
            }
            else if (type[kept[j]] == 2)
            {
                t2++;
            }
        }

        int next1 = 0, next2 = t1, next3 = t1 + t2;
        int* source = s.Source;
        for (int j = 0; j < k; j++)
        {
            int t = type[kept[j]];
            int at = t == 1 ? next1++ : t == 2 ? next2++ : next3++;
            position[j] = at;
            source[at] = kept[j];
        }

        for (int j = 0; j < nd; j++)
        {
            source[k + j] = deflated[j];
        }

        // Gather the old columns in that order (row by row: q is row-major).
        var gathered = StridedMatrix<T>.RowMajor(s.Columns, n, n, n);
        for (int r = 0; r < n; r++)
        {
            T* from = q.Ptr(r, 0);
            T* to = gathered.Ptr(r, 0);
            for (int p = 0; p < n; p++)
            {
                to[p] = from[source[p]];
            }
        }

        // Roots, Löwner's ẑ, and the eigenvectors of D + ρ·ẑ·ẑᵀ as the rows of U (k × k, columns in product order).
        T* lambda = s.Lambda;
        var u = StridedMatrix<T>.RowMajor(s.Secular, k, k, k);
        for (int i = 0; i < k; i++)
        {
            lambda[i] = SecularRoot(dl, zk, k, rho, i, u.Ptr(i, 0), eps);
        }

        T* zhat = s.ZHat;
        for (int j = 0; j < k; j++)
        {
            zhat[j] = u[j, j];
        }

        for (int i = 0; i < k; i++)
        {
            T* row = u.Ptr(i, 0);
            T di = dl[i];
            for (int j = 0; j < i; j++)
            {
                zhat[j] *= row[j] / (dl[j] - di);
            }

            for (int j = i + 1; j < k; j++)
            {
                zhat[j] *= row[j] / (dl[j] - di);
            }
        }

        for (int j = 0; j < k; j++)
        {
            zhat[j] = T.CopySign(T.Sqrt(T.Abs(zhat[j])), zk[j]);
        }

        T* temp = s.Row;
        for (int i = 0; i < k; i++)
        {
            T* row = u.Ptr(i, 0);
            T sum = T.Zero;
            for (int j = 0; j < k; j++)
            {
                T v = zhat[j] / row[j];
                temp[j] = v;
                sum += v * v;
            }

            T inv = T.One / T.Sqrt(sum);
            for (int j = 0; j < k; j++)
            {
                row[position[j]] = temp[j] * inv;
            }
        }

        // New eigenvectors: columns 0..k−1 = old kept columns · U (top rows use types 1–2, bottom rows types 2–3);
        // columns k..n−1 = the deflated columns, ascending.
        if (k > 0)
        {
            var top = q.Slice(0, 0, n1, k);
            var bottom = q.Slice(n1, 0, n - n1, k);
            PackedGemm.Multiply(gathered.Slice(0, 0, n1, t1 + t2), u.Slice(0, 0, k, t1 + t2).Transposed, top, T.One, T.Zero);
            PackedGemm.Multiply(gathered.Slice(n1, t1, n - n1, k - t1), u.Slice(0, t1, k, k - t1).Transposed, bottom, T.One, T.Zero);
        }

        T* deflatedValues = s.Row;
        for (int j = 0; j < nd; j++)
        {
            deflatedValues[j] = d[deflated[j]];
        }

        for (int r = 0; r < n; r++)
        {
            new Span<T>(gathered.Ptr(r, k), nd).CopyTo(new Span<T>(q.Ptr(r, k), nd));
        }

        for (int j = 0; j < k; j++)
        {
            d[j] = lambda[j];
        }

        for (int j = 0; j < nd; j++)
        {
            d[k + j] = deflatedValues[j];
        }

        // Ascending order of the block: merge the roots (ascending) with the deflated values (ascending).
        int a = 0, b = 0;
        for (int p = 0; p < n; p++)
        {
            if (b >= nd || (a < k && d[a] <= d[k + b]))
            {
                order[p] = a++;
            }
            else
            {
                order[p] = k + b++;
            }
        }
    }

    /// <summary>Appends column c to the deflated list, keeping it sorted by d (values arrive almost sorted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InsertDeflated<T>(int* list, ref int count, int c, T* d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = count++;
        for (; j > 0 && d[list[j - 1]] > d[c]; j--)
        {
            list[j] = list[j - 1];
        }

        list[j] = c;
    }

    /// <summary>Columns (x, y) ← (c·x + s·y, c·y − s·x) of q (BLAS drot on two columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RotateColumns<T>(StridedMatrix<T> q, int x, int y, T c, T s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < q.Rows; r++)
        {
            T* row = q.Ptr(r, 0);
            T vx = row[x], vy = row[y];
            row[x] = (c * vx) + (s * vy);
            row[y] = (c * vy) - (s * vx);
        }
    }

    /// <summary>
    /// Root i (0-based) of <c>f(λ) = 1/ρ + Σ zⱼ²/(dⱼ − λ)</c> (d ascending, ‖z‖ = 1, ρ &gt; 0), which lies in
    /// (dᵢ, dᵢ₊₁), or in (d_{k−1}, d_{k−1} + ρ) for the last one. It is found as λ = d_o + τ relative to the nearer pole o,
    /// and <paramref name="delta"/>[j] receives dⱼ − λ computed as (dⱼ − d_o) − τ (accurate to a few ulps relative).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T SecularRoot<T>(T* d, T* z, int k, T rho, int i, T* delta, T eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T rhoInverse = T.One / rho;
        bool last = i == k - 1;
        int origin;
        T lo, hi, tau;
        if (last)
        {
            origin = i;
            lo = T.Zero;
            hi = rho;
            tau = rho / T.CreateTruncating(2);
        }
        else
        {
            // The sign of f at the midpoint tells which pole is nearer.
            T gap = d[i + 1] - d[i];
            T mid = gap / T.CreateTruncating(2);
            T f = rhoInverse;
            for (int j = 0; j < k; j++)
            {
                f += z[j] * z[j] / ((d[j] - d[i]) - mid);
            }

            if (f >= T.Zero)
            {
                origin = i;
                lo = T.Zero;
                hi = mid;
                tau = mid;
            }
            else
            {
                origin = i + 1;
                lo = mid - gap;
                hi = T.Zero;
                tau = mid - gap;
            }
        }

        T dOrigin = d[origin];
        T* shift = delta; // dⱼ − d_o, then dⱼ − λ
        for (int j = 0; j < k; j++)
        {
            shift[j] = d[j] - dOrigin;
        }

        T eight = T.CreateTruncating(8), two = T.CreateTruncating(2);
        for (int iteration = 0; iteration < MaxSecularIterations; iteration++)
        {
            // ψ over the poles at or left of i, φ over those right of it, and their derivatives.
            T psi = T.Zero, dpsi = T.Zero, phi = T.Zero, dphi = T.Zero;
            for (int j = 0; j <= i; j++)
            {
                T t = z[j] / (shift[j] - tau);
                psi += z[j] * t;
                dpsi += t * t;
            }

            for (int j = i + 1; j < k; j++)
            {
                T t = z[j] / (shift[j] - tau);
                phi += z[j] * t;
                dphi += t * t;
            }

            T w = rhoInverse + psi + phi;
            T bound = eps * ((eight * (phi - psi)) + (two * rhoInverse) + (T.Abs(tau) * (dpsi + dphi)));
            if (T.Abs(w) <= bound)
            {
                break;
            }

            if (w < T.Zero)
            {
                lo = tau;
            }
            else
            {
                hi = tau;
            }

            // Two-pole rational model through (w, ψ', φ') at τ, solved for the step η.
            T da = shift[i] - tau;
            T eta;
            if (last)
            {
                T c0 = w - (da * dpsi);
                eta = c0 > T.Zero ? da + (dpsi * da * da / c0) : T.NaN;
            }
            else
            {
                T db = shift[i + 1] - tau;
                T c0 = w - (da * dpsi) - (db * dphi);
                T bb = (c0 * (da + db)) + (dpsi * da * da) + (dphi * db * db);
                T cc = da * db * w;
                eta = QuadraticRootBetween(c0, bb, cc, da, db);
            }

            T next = tau + eta;
            if (!(next > lo && next < hi))
            {
                next = (lo + hi) / two;
            }

            if (next == tau || hi - lo <= eps * T.Max(T.Abs(lo), T.Abs(hi)))
            {
                tau = next;
                break;
            }

            tau = next;
        }

        for (int j = 0; j < k; j++)
        {
            delta[j] = shift[j] - tau;
        }

        return dOrigin + tau;
    }

    /// <summary>The root η ∈ (lo, hi) of a·η² − b·η + c = 0 (NaN when none is found there).</summary>
    private static T QuadraticRootBetween<T>(T a, T b, T c, T lo, T hi)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (T.IsZero(a))
        {
            return c / b;
        }

        T disc = T.Sqrt(T.Abs((b * b) - (T.CreateTruncating(4) * a * c)));
        T q = b >= T.Zero ? (b + disc) / T.CreateTruncating(2) : (b - disc) / T.CreateTruncating(2);
        T r1 = q / a, r2 = c / q;
        if (r1 > lo && r1 < hi)
        {
            return r1;
        }

        return r2 > lo && r2 < hi ? r2 : T.NaN;
    }

    private static T Epsilon<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(double) ? T.CreateTruncating(1.1102230246251565e-16) : T.CreateTruncating(5.9604645e-8);

    /// <summary>Per-thread scratch of the divide and conquer (sized for the whole problem, reused by every merge).</summary>
    private readonly struct Scratch<T>
        where T : unmanaged
    {
        public readonly T* Z, Poles, Weights, ZHat, Lambda, Row, Columns, Secular, Leaf;
        public readonly int* Sorted, Type, Kept, Deflated, Position, Source;

        public Scratch(int n)
        {
            T* v = KernelScratch.Get<T>(KernelScratch.DivideConquerVectors, 6L * n);
            Z = v;
            Poles = v + n;
            Weights = v + (2 * n);
            ZHat = v + (3 * n);
            Lambda = v + (4 * n);
            Row = v + (5 * n);
            int* ints = KernelScratch.Get<int>(KernelScratch.DivideConquerIndices, 6L * n);
            Sorted = ints;
            Type = ints + n;
            Kept = ints + (2 * n);
            Deflated = ints + (3 * n);
            Position = ints + (4 * n);
            Source = ints + (5 * n);
            Columns = KernelScratch.Get<T>(KernelScratch.DivideConquerColumns, (long)n * n);
            Secular = KernelScratch.Get<T>(KernelScratch.DivideConquerSecular, (long)n * n);
            Leaf = KernelScratch.Get<T>(KernelScratch.DivideConquerLeaf, LeafOrder * LeafOrder);
        }
    }
}
