/*
 * Raw C baseline for Curvature's benchmarks: the same kernels and the same K-FAC step as
 * benchmarks/Curvature.Benchmarks, called directly on OpenBLAS or MKL (dlopen'ed, chosen by argument),
 * with no wrapper in between. Writes one CSV row per (kernel, dtype, n, threads) with the median time.
 *
 *   blas_baseline openblas|mkl OUT.csv [--quick] [--sizes 128,256,512,1024] [--threads 1,2] [--lib PATH]
 *
 * Kernels (row-major operands, as Curvature passes them):
 *   gemm      C(n x n) = A(n x n) B(n x n)                         cblas_?gemm
 *   syrk      lower(C) = A^T A, A is n x n                        cblas_?syrk
 *   cholinv   copy of an SPD matrix ((R + R^T)/2 + n I), then the work Curvature's TryInvertPositiveDefinite does:
 *             screen of the lower triangle for NaN/Inf, ?potrf + ?potri (column-major uplo 'U' == row-major lower),
 *             mirror of the lower triangle into the upper one
 *   syevd     copy of a symmetric matrix, then the work of Curvature's TrySymmetricEigen: screen, ?syevd (jobz 'V';
 *             workspace queried once, outside the timing), in-place transpose (eigenvectors into columns), sign rule
 *             (largest-magnitude entry of each eigenvector positive)
 *   kfacstep  dense layer in = out = n, batch 256: two ?syrk EMA updates (decay 0.95 folded into alpha/beta),
 *             trace-scaled Tikhonov damping (Martens & Grosse 2015, section 6.3), two Cholesky inverses
 *             (screen + potrf + potri + mirror to a full matrix), natural gradient G^-1 dW A^-1 as two ?gemm.
 * The O(n^2) helpers walk memory in the same order as Curvature's (bands of one cache line of rows, streamed along
 * them). MKL runs its sequential threading layer, as in Curvature (so MKL's "2 threads" rows equal 1 thread); every
 * buffer is 64-byte aligned, as Curvature's own matrices. Where Curvature's MKL backend computes a lower double SYRK
 * through the faster upper one (n >= 384, k >= 128), so does this baseline. Curvature's own benchmark also measures
 * the bare routines in the same process (benchmarks --interleaved): that, not this file, is the method for ratios.
 * Timing: a warm-up, then repeated runs until both a minimum count and a minimum time are reached (or a
 * maximum count); the median is reported. The LAPACK routines are the Fortran ones (dpotrf_ ...); no LAPACKE.
 * Before timing, each n is self-checked once in double (A * inv(A) = I after potrf/potri, A v = w v after syevd).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121, LOWER = 122 };
enum { BATCH = 256 };
static const double EMA_DECAY = 0.95;
static const double DAMPING = 1e-3;

typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*dsyrk_fn)(int, int, int, int, int, double, const double *, int, double, double *, int);
typedef void (*ssyrk_fn)(int, int, int, int, int, float, const float *, int, float, float *, int);
typedef void (*dpotr_fn)(const char *, const int *, double *, const int *, int *, size_t);
typedef void (*spotr_fn)(const char *, const int *, float *, const int *, int *, size_t);
typedef void (*dsyevd_fn)(const char *, const char *, const int *, double *, const int *, double *, double *, const int *, int *, const int *, int *, size_t, size_t);
typedef void (*ssyevd_fn)(const char *, const char *, const int *, float *, const int *, float *, float *, const int *, int *, const int *, int *, size_t, size_t);
typedef void (*set_threads_fn)(int);
typedef int (*set_layer_fn)(int);

static struct {
    dgemm_fn d_gemm; sgemm_fn s_gemm; dsyrk_fn d_syrk; ssyrk_fn s_syrk;
    dpotr_fn d_potrf, d_potri; spotr_fn s_potrf, s_potri;
    dsyevd_fn d_syevd; ssyevd_fn s_syevd;
    set_threads_fn set_threads;
} L;

static void *need(void *lib, const char *a, const char *b)
{
    void *p = dlsym(lib, a);
    if (!p && b) p = dlsym(lib, b);
    if (!p) { fprintf(stderr, "baseline: symbol %s not found: %s\n", a, dlerror()); exit(2); }
    return p;
}

static int is_mkl;

static void load(const char *which, const char *path)
{
    int mkl = strcmp(which, "mkl") == 0;
    is_mkl = mkl;
    if (!mkl && strcmp(which, "openblas") != 0) { fprintf(stderr, "baseline: library must be openblas or mkl\n"); exit(2); }
    if (!path) path = mkl ? "/usr/lib/x86_64-linux-gnu/libmkl_rt.so" : "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "baseline: cannot load %s: %s\n", path, dlerror()); exit(3); }
    if (mkl) {
        set_layer_fn layer = (set_layer_fn)need(lib, "MKL_Set_Interface_Layer", "mkl_set_interface_layer");
        layer(0); /* MKL_INTERFACE_LP64: 32-bit integers, as the Fortran prototypes above */
        /* MKL_THREADING_SEQUENTIAL (1): the layer Curvature's MKL backend selects. */
        ((set_layer_fn)need(lib, "MKL_Set_Threading_Layer", "mkl_set_threading_layer"))(1);
        L.set_threads = (set_threads_fn)need(lib, "MKL_Set_Num_Threads", "mkl_set_num_threads");
    } else {
        L.set_threads = (set_threads_fn)need(lib, "openblas_set_num_threads", NULL);
    }
    L.d_gemm = (dgemm_fn)need(lib, "cblas_dgemm", NULL);
    L.s_gemm = (sgemm_fn)need(lib, "cblas_sgemm", NULL);
    L.d_syrk = (dsyrk_fn)need(lib, "cblas_dsyrk", NULL);
    L.s_syrk = (ssyrk_fn)need(lib, "cblas_ssyrk", NULL);
    L.d_potrf = (dpotr_fn)need(lib, "dpotrf_", NULL);
    L.d_potri = (dpotr_fn)need(lib, "dpotri_", NULL);
    L.s_potrf = (spotr_fn)need(lib, "spotrf_", NULL);
    L.s_potri = (spotr_fn)need(lib, "spotri_", NULL);
    L.d_syevd = (dsyevd_fn)need(lib, "dsyevd_", NULL);
    L.s_syevd = (ssyevd_fn)need(lib, "ssyevd_", NULL);
}

/* ---------------------------------------------------------------- data ---------------------------------------------------------------- */

/* SplitMix64: deterministic, seeded data in [-1, 1). */
static uint64_t rng_state;
static double next_uniform(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------ per-precision kernels ------------------------------------------------------ */
/* The double and float variants are generated from one template (REAL, prefix P) to keep them identical. */

#define DEFINE_KERNELS(REAL, P)                                                                                   \
typedef struct {                                                                                                  \
    int n;                                                                                                        \
    REAL *a, *b, *c, *spd, *work, *w, *lwork_buf;                                                                  \
    int *iwork, lwork, liwork;                                                                                    \
    REAL *x, *gout, *grad, *fa, *fg, *ainv, *ginv, *tmp, *nat, *best, *winner, *scratch;                          \
} P##state;                                                                                                       \
                                                                                                                  \
static REAL *P##alloc(size_t count)                                                                               \
{                                                                                                                 \
    REAL *p = aligned_alloc(64, ((count * sizeof(REAL) + 63) / 64) * 64);                                         \
    if (!p) { fprintf(stderr, "baseline: out of memory\n"); exit(4); }                                            \
    for (size_t i = 0; i < count; i++) p[i] = (REAL)next_uniform();                                               \
    return p;                                                                                                     \
}                                                                                                                 \
                                                                                                                  \
/* upper <- lower^T, destination rows in bands of one cache line, streamed along them (Curvature's order) */        \
static void P##mirror_lower(REAL *m, int n)                                                                       \
{                                                                                                                 \
    const int band = 64 / (int)sizeof(REAL);                                                                      \
    for (int rb = 0; rb < n; rb += band) {                                                                        \
        int rend = rb + band < n ? rb + band : n;                                                                 \
        for (int c = rb; c < n; c += 8) {                                                                         \
            int cend = c + 8 < n ? c + 8 : n;                                                                     \
            for (int r = rb; r < rend; r++)                                                                       \
                for (int cc = c > r + 1 ? c : r + 1; cc < cend; cc++) m[(size_t)r * n + cc] = m[(size_t)cc * n + r]; \
        }                                                                                                         \
    }                                                                                                             \
}                                                                                                                 \
                                                                                                                  \
/* in-place transpose, upper-triangle bands streamed, each tile swapped with its mirror image */                 \
static void P##transpose(REAL *m, int n)                                                                          \
{                                                                                                                 \
    const int band = 64 / (int)sizeof(REAL);                                                                      \
    for (int rb = 0; rb < n; rb += band) {                                                                        \
        int rend = rb + band < n ? rb + band : n;                                                                 \
        for (int c = rb; c < n; c += 8) {                                                                         \
            int cend = c + 8 < n ? c + 8 : n;                                                                     \
            for (int r = rb; r < rend; r++)                                                                       \
                for (int cc = c > r + 1 ? c : r + 1; cc < cend; cc++) {                                           \
                    REAL t = m[(size_t)r * n + cc]; m[(size_t)r * n + cc] = m[(size_t)cc * n + r]; m[(size_t)cc * n + r] = t; \
                }                                                                                                 \
        }                                                                                                         \
    }                                                                                                             \
}                                                                                                                 \
                                                                                                                  \
/* the shared sign rule, two passes over the rows: per column the largest magnitude (lowest index on a tie) */   \
static void P##sign_rule(REAL *m, int n, REAL *best, REAL *winner)                                                \
{                                                                                                                 \
    for (int j = 0; j < n; j++) { best[j] = -1; winner[j] = m[j]; }                                               \
    for (int i = 0; i < n; i++)                                                                                   \
        for (int j = 0; j < n; j++) {                                                                             \
            REAL v = m[(size_t)i * n + j], a = v < 0 ? -v : v;                                                    \
            if (a > best[j]) { best[j] = a; winner[j] = v; }                                                      \
        }                                                                                                         \
    for (int i = 0; i < n; i++)                                                                                   \
        for (int j = 0; j < n; j++) if (winner[j] < 0) m[(size_t)i * n + j] = -m[(size_t)i * n + j];             \
}                                                                                                                 \
                                                                                                                  \
/* the screen before potrf/syevd: the lower triangle must be finite */                                            \
static int P##all_finite_lower(const REAL *m, int n)                                                              \
{                                                                                                                 \
    int ok = 1;                                                                                                   \
    for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) ok &= isfinite(m[(size_t)i * n + j]) != 0;          \
    return ok;                                                                                                    \
}                                                                                                                 \
                                                                                                                  \
static void P##setup(P##state *s, int n)                                                                          \
{                                                                                                                 \
    size_t nn = (size_t)n * n;                                                                                    \
    rng_state = 0x5EED0000u + (uint64_t)n;                                                                        \
    s->n = n;                                                                                                     \
    s->a = P##alloc(nn); s->b = P##alloc(nn); s->c = P##alloc(nn); s->work = P##alloc(nn); s->w = P##alloc(n);    \
    /* SPD matrix (R + R^T)/2 + n I, strictly diagonally dominant, as in the C# benchmarks and the torch script */ \
    s->spd = P##alloc(nn);                                                                                        \
    for (int i = 0; i < n; i++) for (int j = 0; j < i; j++)                                                       \
        s->spd[(size_t)i * n + j] = s->spd[(size_t)j * n + i] = (REAL)0.5 * (s->spd[(size_t)i * n + j] + s->spd[(size_t)j * n + i]); \
    for (int i = 0; i < n; i++) s->spd[(size_t)i * n + i] += (REAL)n;                                             \
    /* syevd workspace query */                                                                                   \
    REAL wq; int iwq, info, m1 = -1, nn32 = n;                                                                    \
    L.P##syevd("V", "U", &nn32, s->work, &nn32, s->w, &wq, &m1, &iwq, &m1, &info, 1, 1);                          \
    s->lwork = (int)wq; s->liwork = iwq;                                                                          \
    s->lwork_buf = P##alloc((size_t)s->lwork);                                                                    \
    s->iwork = malloc(sizeof(int) * (size_t)s->liwork);                                                           \
    /* K-FAC layer: activations, output gradients, weight gradient, factors and their inverses */                 \
    s->x = P##alloc((size_t)BATCH * n); s->gout = P##alloc((size_t)BATCH * n); s->grad = P##alloc(nn);            \
    s->fa = P##alloc(nn); s->fg = P##alloc(nn); s->ainv = P##alloc(nn); s->ginv = P##alloc(nn);                   \
    s->tmp = P##alloc(nn); s->nat = P##alloc(nn); s->best = P##alloc(n); s->winner = P##alloc(n);                \
    s->scratch = P##alloc(nn); P##scratch_matrix = s->scratch;                                                    \
    P##syrk_call(n, BATCH, (REAL)(1.0 / BATCH), s->x, (REAL)0, s->fa);                                            \
    P##syrk_call(n, BATCH, (REAL)(1.0 / BATCH), s->gout, (REAL)0, s->fg);                                         \
}                                                                                                                 \
                                                                                                                  \
static void P##teardown(P##state *s)                                                                              \
{                                                                                                                 \
    free(s->a); free(s->b); free(s->c); free(s->spd); free(s->work); free(s->w); free(s->lwork_buf);              \
    free(s->iwork); free(s->x); free(s->gout); free(s->grad); free(s->fa); free(s->fg); free(s->ainv);           \
    free(s->ginv); free(s->tmp); free(s->nat); free(s->best); free(s->winner); free(s->scratch);                  \
}                                                                                                                 \
                                                                                                                  \
static void P##run_gemm(P##state *s)                                                                              \
{                                                                                                                 \
    int n = s->n;                                                                                                 \
    L.P##gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, (REAL)1, s->a, n, s->b, n, (REAL)0, s->c, n);               \
}                                                                                                                 \
                                                                                                                  \
static void P##run_syrk(P##state *s)                                                                              \
{                                                                                                                 \
    P##syrk_call(s->n, s->n, (REAL)1, s->a, (REAL)0, s->c);                                                       \
}                                                                                                                 \
                                                                                                                  \
static int P##cholinv(REAL *m, int n)                                                                             \
{                                                                                                                 \
    int info;                                                                                                     \
    if (!P##all_finite_lower(m, n)) return -1;                                                                    \
    L.P##potrf("U", &n, m, &n, &info, 1);                                                                         \
    if (info == 0) L.P##potri("U", &n, m, &n, &info, 1);                                                          \
    if (info == 0) P##mirror_lower(m, n);                                                                         \
    return info;                                                                                                  \
}                                                                                                                 \
                                                                                                                  \
static void P##run_cholinv(P##state *s)                                                                           \
{                                                                                                                 \
    memcpy(s->work, s->spd, sizeof(REAL) * (size_t)s->n * s->n);                                                  \
    if (P##cholinv(s->work, s->n) != 0) { fprintf(stderr, "baseline: potrf/potri failed\n"); exit(5); }          \
}                                                                                                                 \
                                                                                                                  \
static void P##run_syevd(P##state *s)                                                                             \
{                                                                                                                 \
    int n = s->n, info;                                                                                           \
    memcpy(s->work, s->spd, sizeof(REAL) * (size_t)n * n);                                                        \
    if (!P##all_finite_lower(s->work, n)) { fprintf(stderr, "baseline: non-finite input\n"); exit(5); }          \
    L.P##syevd("V", "U", &n, s->work, &n, s->w, s->lwork_buf, &s->lwork, s->iwork, &s->liwork, &info, 1, 1);      \
    if (info != 0) { fprintf(stderr, "baseline: syevd failed (%d)\n", info); exit(5); }                           \
    P##transpose(s->work, n);                                                                                     \
    P##sign_rule(s->work, n, s->best, s->winner);                                                                 \
}                                                                                                                 \
                                                                                                                  \
/* Damped copy of a factor: dst = src + shift I (lower triangle is what potrf reads). */                          \
static void P##damped_copy(const REAL *src, REAL *dst, int n, REAL shift)                                         \
{                                                                                                                 \
    memcpy(dst, src, sizeof(REAL) * (size_t)n * n);                                                               \
    for (int i = 0; i < n; i++) dst[(size_t)i * n + i] += shift;                                                  \
}                                                                                                                 \
                                                                                                                  \
static void P##run_kfac(P##state *s)                                                                              \
{                                                                                                                 \
    int n = s->n;                                                                                                 \
    REAL alpha = (REAL)((1.0 - EMA_DECAY) / BATCH), beta = (REAL)EMA_DECAY;                                       \
    P##syrk_call(n, BATCH, alpha, s->x, beta, s->fa);                                                             \
    P##syrk_call(n, BATCH, alpha, s->gout, beta, s->fg);                                                          \
    double tra = 0, trg = 0;                                                                                      \
    for (int i = 0; i < n; i++) { tra += s->fa[(size_t)i * n + i]; trg += s->fg[(size_t)i * n + i]; }             \
    double pi = sqrt((tra / n) / (trg / n)), root = sqrt(DAMPING);                                                \
    P##damped_copy(s->fa, s->ainv, n, (REAL)(pi * root));                                                         \
    P##damped_copy(s->fg, s->ginv, n, (REAL)(root / pi));                                                         \
    if (P##cholinv(s->ainv, n) != 0 || P##cholinv(s->ginv, n) != 0) {                                             \
        fprintf(stderr, "baseline: K-FAC factor not positive definite\n"); exit(5);                               \
    }                                                                                                             \
    L.P##gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, (REAL)1, s->ginv, n, s->grad, n, (REAL)0, s->tmp, n);       \
    L.P##gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, (REAL)1, s->tmp, n, s->ainv, n, (REAL)0, s->nat, n);        \
}

/* lower(C) <- alpha A^T A + beta C with A k x n, row-major. On MKL (double, n >= 384, k >= 128) through the faster
 * upper SYRK in a scratch matrix, as Curvature's MKL backend: S upper = C lower^T (beta != 0), SYRK upper, C lower = S^T. */
static double *d_scratch_matrix;
static float *s_scratch_matrix;

static void d_syrk_call(int n, int k, double alpha, const double *a, double beta, double *c)
{
    if (is_mkl && n >= 384 && k >= 128 && d_scratch_matrix) {
        double *s = d_scratch_matrix;
        if (beta != 0)
            for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) s[(size_t)j * n + i] = c[(size_t)i * n + j];
        L.d_syrk(ROW_MAJOR, UPPER, TRANS, n, k, alpha, a, n, beta, s, n);
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) c[(size_t)i * n + j] = s[(size_t)j * n + i];
        return;
    }
    L.d_syrk(ROW_MAJOR, LOWER, TRANS, n, k, alpha, a, n, beta, c, n);
}

static void s_syrk_call(int n, int k, float alpha, const float *a, float beta, float *c)
{
    L.s_syrk(ROW_MAJOR, LOWER, TRANS, n, k, alpha, a, n, beta, c, n);
}

DEFINE_KERNELS(double, d_)
DEFINE_KERNELS(float, s_)

/* Self-check, once per n in double outside the timing: the Cholesky inverse times the matrix is I, and the first
 * eigenpair satisfies A v = w v. Guards against a wrong uplo/layout in the calls above. */
static double d_self_check(d_state *s)
{
    int n = s->n;
    d_run_cholinv(s);
    L.d_gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0, s->spd, n, s->work, n, 0.0, s->c, n);
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) worst = fmax(worst, fabs(s->c[(size_t)i * n + j] - (i == j)));
    d_run_syevd(s);
    /* after the transpose the eigenvectors are the columns of the row-major buffer */
    for (int i = 0; i < n; i++) {
        double av = 0;
        for (int j = 0; j < n; j++) av += s->spd[(size_t)i * n + j] * s->work[(size_t)j * n];
        worst = fmax(worst, fabs(av - s->w[0] * s->work[(size_t)i * n]) / s->w[n - 1]);
    }
    return worst;
}

/* ------------------------------------------------------------ driver ------------------------------------------------------------ */

typedef struct { int quick; } options;

static double measure(void (*fn)(void *), void *state, const options *o, int *reps_out, double *min_out)
{
    const int warmup = o->quick ? 1 : 2;
    const int min_reps = o->quick ? 3 : 7, max_reps = o->quick ? 15 : 101;
    const double min_time = o->quick ? 0.05e9 : 0.4e9;
    for (int i = 0; i < warmup; i++) fn(state);
    double samples[101];
    int reps = 0;
    double start = now_ns();
    while (reps < max_reps && (reps < min_reps || now_ns() - start < min_time)) {
        double t0 = now_ns();
        fn(state);
        samples[reps++] = now_ns() - t0;
    }
    qsort(samples, (size_t)reps, sizeof(double), cmp_double);
    *reps_out = reps;
    *min_out = samples[0];
    return reps % 2 ? samples[reps / 2] : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
}

#define THUNK(P, K) static void P##K##_thunk(void *s) { P##run_##K((P##state *)s); }
THUNK(d_, gemm) THUNK(d_, syrk) THUNK(d_, cholinv) THUNK(d_, syevd) THUNK(d_, kfac)
THUNK(s_, gemm) THUNK(s_, syrk) THUNK(s_, cholinv) THUNK(s_, syevd) THUNK(s_, kfac)

typedef struct { const char *name; void (*d)(void *); void (*s)(void *); int threaded; } kernel;
static const kernel KERNELS[] = {
    { "gemm", d_gemm_thunk, s_gemm_thunk, 1 },
    { "syrk", d_syrk_thunk, s_syrk_thunk, 0 },
    { "cholinv", d_cholinv_thunk, s_cholinv_thunk, 0 },
    { "syevd", d_syevd_thunk, s_syevd_thunk, 0 },
    { "kfacstep", d_kfac_thunk, s_kfac_thunk, 1 },
};

static int parse_list(const char *text, int *out, int max)
{
    int count = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && count < max; tok = strtok_r(NULL, ",", &save)) out[count++] = atoi(tok);
    free(copy);
    return count;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s openblas|mkl OUT.csv [--quick] [--sizes 128,256,512,1024] [--threads 1,2] [--lib PATH]\n", argv[0]);
        return 2;
    }
    const char *which = argv[1], *out_path = argv[2], *lib_path = NULL;
    options o = { 0 };
    int sizes[16] = { 128, 256, 512, 1024 }, nsizes = 4, threads[8] = { 1, 2 }, nthreads = 2;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) o.quick = 1;
        else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) nsizes = parse_list(argv[++i], sizes, 16);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) nthreads = parse_list(argv[++i], threads, 8);
        else if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc) lib_path = argv[++i];
        else { fprintf(stderr, "baseline: unknown argument %s\n", argv[i]); return 2; }
    }
    load(which, lib_path);
    FILE *out = fopen(out_path, "w");
    if (!out) { perror(out_path); return 2; }
    fprintf(out, "library,kernel,dtype,n,threads,median_ns,min_ns,reps\n");
    for (int si = 0; si < nsizes; si++) {
        int n = sizes[si];
        d_state ds; s_state ss;
        L.set_threads(1);
        d_setup(&ds, n);
        s_setup(&ss, n);
        double residual = d_self_check(&ds);
        if (!(residual < 1e-9)) { fprintf(stderr, "baseline: self-check failed at n=%d (residual %.3g)\n", n, residual); return 5; }
        for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; k++) {
            for (int ti = 0; ti < nthreads; ti++) {
                if (!KERNELS[k].threaded && threads[ti] != 1) continue;
                L.set_threads(threads[ti]);
                for (int dt = 0; dt < 2; dt++) {
                    int reps;
                    double min;
                    double median = dt == 0 ? measure(KERNELS[k].s, &ss, &o, &reps, &min) : measure(KERNELS[k].d, &ds, &o, &reps, &min);
                    const char *dtype = dt == 0 ? "float" : "double";
                    fprintf(out, "%s,%s,%s,%d,%d,%.0f,%.0f,%d\n", which, KERNELS[k].name, dtype, n, threads[ti], median, min, reps);
                    fflush(out);
                    printf("%-8s %-8s %-6s n=%-5d threads=%d median %10.3f ms (%d runs)\n", which, KERNELS[k].name, dtype, n, threads[ti], median / 1e6, reps);
                    fflush(stdout);
                }
            }
        }
        d_teardown(&ds);
        s_teardown(&ss);
    }
    fclose(out);
    return 0;
}
