#!/usr/bin/env python3
"""PyTorch CPU peer for Curvature's benchmarks (issue #7): the same kernels and K-FAC step as
benchmarks/Curvature.Benchmarks and native/baseline/blas_baseline.c, timed the same way (warm-up, then
repeated runs, median), written as CSV rows with the baseline's columns.

    /usr/bin/python3 torch_bench.py OUT.csv [--quick] [--sizes 128,256,512,1024] [--threads 1,2]

Each thread count runs in its own child process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS pinned to it *before* torch is imported, plus torch.set_num_threads, so the OpenMP and
BLAS pools cannot oversubscribe the cores. Kernels: gemm = mm; syrk = mm(a.T, a) (torch has no SYRK);
cholinv = linalg.cholesky + cholesky_inverse (?potrf + ?potri); syevd = linalg.eigh (?syevd);
kfacstep = two addmm_ EMA updates (decay 0.95), trace-scaled damping, two Cholesky inverses, two mm.
"""
import argparse
import csv
import os
import subprocess
import sys
import time

BATCH = 256
EMA_DECAY = 0.95
DAMPING = 1e-3


def parse_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", default="128,256,512,1024")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def measure(fn, quick):
    warmup, min_reps, max_reps, min_time = (1, 3, 15, 0.05e9) if quick else (2, 7, 101, 0.4e9)
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter_ns()
    while len(samples) < max_reps and (len(samples) < min_reps or time.perf_counter_ns() - start < min_time):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    k = len(samples)
    median = samples[k // 2] if k % 2 else 0.5 * (samples[k // 2 - 1] + samples[k // 2])
    return median, samples[0], k


def run_child(args):
    import torch

    threads = args.child
    torch.set_num_threads(threads)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = []
    for n in sizes:
        for dtype_name, dtype in (("float", torch.float32), ("double", torch.float64)):
            g = torch.Generator().manual_seed(0x5EED0000 + n)

            def rand(*shape):
                return torch.rand(*shape, generator=g, dtype=dtype) * 2 - 1

            a, b, c = rand(n, n), rand(n, n), torch.empty(n, n, dtype=dtype)
            r = rand(n, n)
            spd = (r + r.T) / 2 + n * torch.eye(n, dtype=dtype)  # as in the C# benchmarks and the C baseline
            work, inv = torch.empty(n, n, dtype=dtype), torch.empty(n, n, dtype=dtype)
            x, gout, grad = rand(BATCH, n), rand(BATCH, n), rand(n, n)
            fa, fg = x.T @ x / BATCH, gout.T @ gout / BATCH
            ainv, ginv = torch.empty(n, n, dtype=dtype), torch.empty(n, n, dtype=dtype)
            la, lg = torch.empty(n, n, dtype=dtype), torch.empty(n, n, dtype=dtype)
            tmp, nat = torch.empty(n, n, dtype=dtype), torch.empty(n, n, dtype=dtype)
            alpha = (1 - EMA_DECAY) / BATCH
            root = DAMPING ** 0.5

            def gemm():
                torch.mm(a, b, out=c)

            def syrk():
                torch.mm(a.T, a, out=c)

            def cholinv():
                torch.linalg.cholesky(spd, out=work)
                torch.cholesky_inverse(work, out=inv)

            def syevd():
                torch.linalg.eigh(spd)

            def kfac():
                fa.addmm_(x.T, x, beta=EMA_DECAY, alpha=alpha)
                fg.addmm_(gout.T, gout, beta=EMA_DECAY, alpha=alpha)
                pi = ((fa.trace() / n) / (fg.trace() / n)).sqrt().item()
                ainv.copy_(fa).diagonal().add_(pi * root)
                ginv.copy_(fg).diagonal().add_(root / pi)
                torch.linalg.cholesky(ainv, out=la)
                torch.cholesky_inverse(la, out=ainv)
                torch.linalg.cholesky(ginv, out=lg)
                torch.cholesky_inverse(lg, out=ginv)
                torch.mm(ginv, grad, out=tmp)
                torch.mm(tmp, ainv, out=nat)

            kernels = [("gemm", gemm, True), ("syrk", syrk, False), ("cholinv", cholinv, False),
                       ("syevd", syevd, False), ("kfacstep", kfac, True)]
            with torch.no_grad():
                for name, fn, threaded in kernels:
                    if threads != 1 and not threaded:
                        continue
                    median, best, reps = measure(fn, args.quick)
                    rows.append(["torch", name, dtype_name, n, threads, f"{median:.0f}", f"{best:.0f}", reps])
                    print(f"torch    {name:<8} {dtype_name:<6} n={n:<5} threads={threads} median {median / 1e6:10.3f} ms ({reps} runs)",
                          flush=True)
    with open(args.out, "a", newline="") as f:
        csv.writer(f).writerows(rows)


def main(argv):
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    try:
        import torch  # noqa: F401  (only to fail early and clearly)
    except ImportError as e:
        print(f"peers: PyTorch is not importable ({e}); skipping the PyTorch peer", flush=True)
        return 0
    with open(args.out, "w", newline="") as f:
        csv.writer(f).writerow(["library", "kernel", "dtype", "n", "threads", "median_ns", "min_ns", "reps"])
    for t in [int(s) for s in args.threads.split(",") if s]:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        child = [sys.executable, os.path.abspath(__file__), args.out, "--sizes", args.sizes, "--child", str(t)]
        if args.quick:
            child.append("--quick")
        subprocess.run(child, env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
