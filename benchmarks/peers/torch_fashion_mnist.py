#!/usr/bin/env python3
"""PyTorch peer of the Fashion-MNIST demo: plain torch.optim.Adam on CPU, the same two models and the same IDX files.

    /usr/bin/python3 benchmarks/peers/torch_fashion_mnist.py --model ae  --batch-size 256 --threads 2 --steps 500
    /usr/bin/python3 benchmarks/peers/torch_fashion_mnist.py --model cnn --batch-size 128 --threads 2 --seconds 60

Models
  ae   deep autoencoder 784-1000-500-250-30-250-500-1000-784 (Hinton & Salakhutdinov 2006): logistic sigmoid hidden
       units (``--activation tanh`` for the variant the TensorFlow and JAX K-FAC examples use), linear 30-unit code
       layer, sigmoid output trained with binary cross-entropy on pixels in [0, 1], computed from the last
       pre-activation (BCE-with-logits). Loss = BCE summed over the 784 pixels, averaged over the batch (nats/image).
  cnn  conv(1->C1, KxK, pad K//2) ReLU maxpool2, conv(C1->C2, KxK, pad K//2) ReLU maxpool2, linear(C2*7*7 -> 10),
       softmax cross-entropy averaged over the batch. Default C1,C2 = 32,64 and K = 5 (``--channels``, ``--kernel``).

Timing
  One step = zero_grad + forward + loss + backward + Adam update on a batch already gathered into a contiguous tensor.
  Step times of the first ``--warmup`` steps are excluded; the summary gives the median (and p10/p90) of the rest.
  Training time (for time-to-target) counts only steps; the periodic evaluation on a fixed training subset
  (the first ``--eval-size`` training images, every ``--eval-every`` steps) is outside the clock.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to ``--threads`` before torch is imported,
then torch.set_num_threads(threads) and one inter-op thread, so the OpenMP and BLAS pools cannot oversubscribe.
``--wait-policy passive`` sets OMP_WAIT_POLICY=PASSIVE: on a machine whose cores are busy with other processes,
OpenMP's default spin-waiting makes multi-threaded steps several times slower (see README.md).

Batch order: each epoch is a permutation of the training set from numpy.random.default_rng(seed + epoch); weights are
initialised by torch.manual_seed(seed) with PyTorch's default initialisation.

Outputs: a summary line on stdout; ``--csv`` (one row per step: step, train_seconds, step_ms, batch_loss, eval_loss)
and ``--json`` (the summary: settings, median step time, steps/seconds to ``--target-loss``, final losses).

``--reduction mean`` averages the autoencoder's BCE over pixels too (PyTorch's default reduction, what the .NET demo
trains with); the default ``sum`` sums over pixels and averages over the batch (nats per image).

``--serve``: the step-time peer of the .NET demo's ``--compare-pytorch``. After the set-up above the script prints one
JSON line ``{"ready": true, ...}`` and then reads commands from stdin, one per line: ``run K`` trains K more steps (the
batch order continues) and prints ``{"step_ms": [...], "cpu_ms": [...], "loss": <last batch loss>}`` (each step's wall
time and the process's CPU time during it); ``quit`` (or end of input) exits.
Nothing else is written to stdout in this mode, and no evaluation runs, so the caller can alternate chunks of steps with
its own in one run.
"""
import argparse
import csv
import gzip
import json
import os
import platform
import statistics
import sys
import time

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
IDX_TYPE_UBYTE = 0x08


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["ae", "cnn"], required=True)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: no step limit)")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this much training time (0: no time limit)")
    p.add_argument("--warmup", type=int, default=20, help="steps excluded from the step-time statistics")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=DEBIAN_DIR)
    p.add_argument("--wait-policy", choices=["default", "passive", "active"], default="default",
                   help="OMP_WAIT_POLICY for torch's OpenMP pool (default: leave the environment alone)")
    p.add_argument("--activation", choices=["sigmoid", "tanh"], default="sigmoid", help="AE hidden units")
    p.add_argument("--channels", default="32,64", help="CNN channels C1,C2")
    p.add_argument("--kernel", type=int, default=5, help="CNN kernel size (odd)")
    p.add_argument("--eval-every", type=int, default=50, help="steps between evaluations on the training subset (0: none)")
    p.add_argument("--eval-size", type=int, default=2000, help="training images in the evaluation subset")
    p.add_argument("--target-loss", type=float, default=None, help="report the first evaluation at or below this loss")
    p.add_argument("--stop-at-target", action="store_true", help="stop once --target-loss is reached")
    p.add_argument("--test", action="store_true", help="evaluate on the whole test set at the end")
    p.add_argument("--csv", help="per-step CSV output")
    p.add_argument("--json", help="summary JSON output")
    p.add_argument("--reduction", choices=["sum", "mean"], default="sum",
                   help="AE loss: BCE summed over pixels (default) or averaged over pixels, both averaged over the batch")
    p.add_argument("--serve", action="store_true", help="step-time peer: run chunks of steps on command (see above)")
    args = p.parse_args(argv)
    if args.steps <= 0 and args.seconds <= 0 and not args.serve:
        p.error("give --steps and/or --seconds")
    if args.batch_size <= 0 or args.threads <= 0 or args.warmup < 0:
        p.error("--batch-size and --threads must be positive, --warmup non-negative")
    return args


# ---------------------------------------------------------------------------------------------------------------
# IDX files (the MNIST family's format): magic 00 00 <type> <rank>, rank big-endian uint32 sizes, data row-major.
# ---------------------------------------------------------------------------------------------------------------

def read_idx_ubyte(path, rank):
    """Reads an unsigned-byte IDX file (plain or gzip) of the given rank; raises ValueError naming the file."""
    import numpy as np

    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            raw = gzip.GzipFile(fileobj=f).read() if head == b"\x1f\x8b" else f.read()
    except FileNotFoundError:
        raise ValueError(f"IDX file '{path}': the file does not exist (install Debian's dataset-fashion-mnist: "
                         f"bash native/install-datasets.sh)") from None
    except (OSError, EOFError) as e:
        raise ValueError(f"IDX file '{path}': cannot be read: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"IDX file '{path}': not an IDX file (bad magic number)")
    if raw[2] != IDX_TYPE_UBYTE or raw[3] != rank:
        raise ValueError(f"IDX file '{path}': type 0x{raw[2]:02X} rank {raw[3]}, expected unsigned byte rank {rank}")
    header = 4 + 4 * rank
    if len(raw) < header:
        raise ValueError(f"IDX file '{path}': truncated header")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    count = 1
    for d in dims:
        count *= d
    if len(raw) != header + count:
        raise ValueError(f"IDX file '{path}': dimensions {dims} declare {header + count} bytes, found {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_split(directory, prefix):
    def locate(name):
        gz = os.path.join(directory, name + ".gz")
        return gz if os.path.exists(gz) or not os.path.exists(os.path.join(directory, name)) else os.path.join(directory, name)

    images = read_idx_ubyte(locate(f"{prefix}-images-idx3-ubyte"), 3)
    labels = read_idx_ubyte(locate(f"{prefix}-labels-idx1-ubyte"), 1)
    if images.shape[1:] != (28, 28) or labels.shape[0] != images.shape[0] or labels.max(initial=0) > 9:
        raise ValueError(f"Fashion-MNIST '{prefix}' files in '{directory}' do not match (shape {images.shape}, "
                         f"{labels.shape[0]} labels)")
    return images, labels


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------

AE_SIZES = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
CODE_LAYER = 4  # index in AE_SIZES of the linear code layer


def build_model(args, torch):
    nn = torch.nn
    if args.model == "ae":
        act = nn.Sigmoid if args.activation == "sigmoid" else nn.Tanh
        layers = []
        for i in range(len(AE_SIZES) - 1):
            layers.append(nn.Linear(AE_SIZES[i], AE_SIZES[i + 1]))
            out_index = i + 1
            if out_index != CODE_LAYER and out_index != len(AE_SIZES) - 1:
                layers.append(act())
        return nn.Sequential(*layers)  # outputs logits; the sigmoid output unit is inside the loss
    c1, c2 = (int(c) for c in args.channels.split(","))
    k = args.kernel
    return nn.Sequential(
        nn.Conv2d(1, c1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 7 * 7, 10))


def make_loss(args, torch):
    F = torch.nn.functional
    if args.model == "ae":
        if args.reduction == "mean":
            # BCE-with-logits averaged over pixels and images (PyTorch's default reduction).
            return lambda out, x, y: F.binary_cross_entropy_with_logits(out, x)
        # BCE-with-logits summed over pixels, mean over the batch.
        return lambda out, x, y: F.binary_cross_entropy_with_logits(out, x, reduction="sum") / x.shape[0]
    return lambda out, x, y: F.cross_entropy(out, y)


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------

def main(argv):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if args.wait_policy != "default":
        os.environ["OMP_WAIT_POLICY"] = args.wait_policy.upper()
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    t_load = time.perf_counter()
    train_images, train_labels = load_split(args.data_dir, "train")
    x_all = torch.from_numpy(train_images.reshape(len(train_images), -1).astype(np.float32) / 255.0)
    y_all = torch.from_numpy(train_labels.astype(np.int64))
    if args.model == "cnn":
        x_all = x_all.reshape(-1, 1, 28, 28)
    load_seconds = time.perf_counter() - t_load
    n = x_all.shape[0]
    if args.batch_size > n:
        raise SystemExit(f"--batch-size {args.batch_size} exceeds the {n} training images")

    torch.manual_seed(args.seed)
    model = build_model(args, torch)
    loss_fn = make_loss(args, torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    param_count = sum(p.numel() for p in model.parameters())

    eval_x, eval_y = x_all[:args.eval_size].contiguous(), y_all[:args.eval_size].contiguous()

    def evaluate(xs, ys, chunk=1000):
        model.eval()
        total, correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, xs.shape[0], chunk):
                xb, yb = xs[i:i + chunk], ys[i:i + chunk]
                out = model(xb.reshape(xb.shape[0], -1) if args.model == "ae" else xb)
                total += float(loss_fn(out, xb.reshape(xb.shape[0], -1) if args.model == "ae" else xb, yb)) * xb.shape[0]
                if args.model == "cnn":
                    correct += int((out.argmax(1) == yb).sum())
        model.train()
        return total / xs.shape[0], correct / xs.shape[0]

    if args.serve:
        return serve(args, torch, np, model, loss_fn, optimizer, x_all, y_all, param_count)

    rows = []
    step_ms = []
    cpu_ms = []  # CPU time of all the process's threads during the step: > wall time when threads run in parallel
    evals = []
    train_seconds = 0.0
    target_step = target_seconds = None
    epoch, position, order = 0, n, None
    initial_eval = evaluate(eval_x, eval_y)[0] if args.eval_every > 0 else None
    if initial_eval is not None:
        evals.append((0, 0.0, initial_eval))
    step = 0
    while True:
        if args.steps > 0 and step >= args.steps:
            break
        if args.seconds > 0 and train_seconds >= args.seconds:
            break
        if position + args.batch_size > n:  # drop the last partial batch of an epoch
            order = torch.from_numpy(np.random.default_rng(args.seed + epoch).permutation(n))
            epoch += 1
            position = 0
        idx = order[position:position + args.batch_size]
        position += args.batch_size
        xb = x_all.index_select(0, idx)
        yb = y_all.index_select(0, idx)
        target = xb if args.model == "ae" else None

        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        loss = loss_fn(out, target, yb)
        loss.backward()
        optimizer.step()
        t1 = time.perf_counter_ns()
        c1 = time.process_time_ns()

        step += 1
        ms = (t1 - t0) / 1e6
        train_seconds += ms / 1e3
        step_ms.append(ms)
        cpu_ms.append((c1 - c0) / 1e6)
        batch_loss = float(loss.detach())
        eval_loss = None
        if args.eval_every > 0 and step % args.eval_every == 0:
            eval_loss = evaluate(eval_x, eval_y)[0]
            evals.append((step, train_seconds, eval_loss))
            if args.target_loss is not None and target_step is None and eval_loss <= args.target_loss:
                target_step, target_seconds = step, train_seconds
        rows.append((step, train_seconds, ms, batch_loss, eval_loss))
        if not (batch_loss == batch_loss) or batch_loss in (float("inf"), float("-inf")):
            print(f"non-finite loss at step {step}; stopping", file=sys.stderr)
            break
        if args.stop_at_target and target_step is not None:
            break

    steady = step_ms[args.warmup:] if len(step_ms) > args.warmup else step_ms
    q = statistics.quantiles(steady, n=10) if len(steady) >= 2 else [steady[0]] * 9
    final_eval = evaluate(eval_x, eval_y)[0] if args.eval_every > 0 else None
    summary = {
        "model": args.model,
        "activation": args.activation if args.model == "ae" else "relu",
        "cnn": {"channels": args.channels, "kernel": args.kernel} if args.model == "cnn" else None,
        "parameters": param_count,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "lr": args.lr,
        "seed": args.seed,
        "steps": step,
        "epochs": round(step * args.batch_size / n, 3),
        "warmup_steps": min(args.warmup, len(step_ms)),
        "median_step_ms": statistics.median(steady),
        "p10_step_ms": q[0],
        "p90_step_ms": q[8],
        "median_cpu_ms": statistics.median(cpu_ms[args.warmup:] if len(cpu_ms) > args.warmup else cpu_ms),
        "train_seconds": train_seconds,
        "target_loss": args.target_loss,
        "steps_to_target": target_step,
        "seconds_to_target": target_seconds,
        "initial_eval_loss": initial_eval,
        "final_eval_loss": final_eval,
        "final_batch_loss": rows[-1][3] if rows else None,
        "eval_size": args.eval_size,
        "eval_every": args.eval_every,
        "evals": evals,
        "load_seconds": load_seconds,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average": os.getloadavg()[0],
    }
    if args.test:
        test_images, test_labels = load_split(args.data_dir, "t10k")
        tx = torch.from_numpy(test_images.reshape(len(test_images), -1).astype(np.float32) / 255.0)
        if args.model == "cnn":
            tx = tx.reshape(-1, 1, 28, 28)
        summary["test_loss"], accuracy = evaluate(tx, torch.from_numpy(test_labels.astype(np.int64)))
        summary["test_accuracy"] = accuracy if args.model == "cnn" else None

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "train_seconds", "step_ms", "batch_loss", "eval_loss"])
            for r in rows:
                w.writerow([r[0], f"{r[1]:.6f}", f"{r[2]:.4f}", f"{r[3]:.6f}", "" if r[4] is None else f"{r[4]:.6f}"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)

    target_text = ""
    if args.target_loss is not None:
        target_text = (f", target {args.target_loss:g}: " +
                       (f"step {target_step} at {target_seconds:.1f} s" if target_step else "not reached"))
    final_text = f", eval loss {initial_eval:.2f} -> {final_eval:.2f}" if final_eval is not None else ""
    print(f"{args.model} batch {args.batch_size} threads {args.threads} lr {args.lr:g}: {step} steps in "
          f"{train_seconds:.1f} s, median {summary['median_step_ms']:.1f} ms/step "
          f"(p10 {q[0]:.1f}, p90 {q[8]:.1f}; CPU {summary['median_cpu_ms']:.1f} ms/step){final_text}{target_text}")
    return 0


def serve(args, torch, np, model, loss_fn, optimizer, x_all, y_all, param_count):
    """The --serve loop: chunks of timed steps on command, one JSON line per chunk (see the module docstring)."""
    n = x_all.shape[0]
    state = {"epoch": 0, "position": n, "order": None}

    def next_batch():
        if state["position"] + args.batch_size > n:  # drop the last partial batch of an epoch
            state["order"] = torch.from_numpy(np.random.default_rng(args.seed + state["epoch"]).permutation(n))
            state["epoch"] += 1
            state["position"] = 0
        idx = state["order"][state["position"]:state["position"] + args.batch_size]
        state["position"] += args.batch_size
        return x_all.index_select(0, idx), y_all.index_select(0, idx)

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": True, "model": args.model, "parameters": param_count, "batch_size": args.batch_size,
           "threads": args.threads, "torch": torch.__version__, "reduction": args.reduction,
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)")})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] != "run" or len(words) != 2 or not words[1].isdigit():
            reply({"error": f"unknown command {line.strip()!r}; expected 'run K' or 'quit'"})
            continue
        times = []
        cpu = []
        loss = None
        for _ in range(int(words[1])):
            xb, yb = next_batch()
            target = xb if args.model == "ae" else None
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, target, yb)
            loss.backward()
            optimizer.step()
            t1 = time.perf_counter_ns()
            c1 = time.process_time_ns()
            times.append((t1 - t0) / 1e6)
            cpu.append((c1 - c0) / 1e6)
        reply({"step_ms": times, "cpu_ms": cpu, "loss": None if loss is None else float(loss.detach())})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
