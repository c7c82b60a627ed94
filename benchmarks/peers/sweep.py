#!/usr/bin/env python3
"""Runs torch_fashion_mnist.py over grids and prints Markdown tables (the ones in README.md).

    /usr/bin/python3 benchmarks/peers/sweep.py step-times --out artifacts/peers/step-times [--rounds 3] [--steps 120]
    /usr/bin/python3 benchmarks/peers/sweep.py cnn-step-times --out artifacts/peers/cnn-step-times
    /usr/bin/python3 benchmarks/peers/sweep.py lr-grid --out artifacts/peers/lr-grid [--batch-sizes 128,256] [--grid-steps 3000]
    /usr/bin/python3 benchmarks/peers/sweep.py report-lr --out artifacts/peers/lr-grid --targets 150,140,130

Every run is its own process (threads pinned before torch is imported). Step-time runs are interleaved round-robin
over the configurations (``--rounds`` times) so that load from other processes on a shared machine spreads over all
of them; the table gives the median over rounds of each run's steady-state median step time, and the spread.
The learning-rate grid trains the autoencoder for ``--grid-steps`` steps per learning rate (a step count, not a time
budget, so that the loss curves do not depend on the load of a shared machine) and records the loss on a fixed
5,000-image training subset every 50 steps; ``report-lr`` reads those runs again and tabulates the losses at a few
step counts and the steps each learning rate needs to reach each target (the first evaluation at or below it).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINER = os.path.join(HERE, "torch_fashion_mnist.py")


def run(args_list, json_path):
    cmd = [sys.executable, TRAINER, *args_list, "--json", json_path]
    print("> " + " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)
    with open(json_path) as f:
        return json.load(f)


def step_time_table(configs, rounds, steps, warmup, out, header):
    os.makedirs(out, exist_ok=True)
    results = {key: [] for key, _ in configs}
    cpu = {key: [] for key, _ in configs}
    loads = []
    for r in range(rounds):
        for key, extra in configs:
            name = "-".join(str(k) for k in key)
            s = run([*extra, "--steps", str(steps), "--warmup", str(warmup), "--eval-every", "0"],
                    os.path.join(out, f"{name}-round{r}.json"))
            results[key].append(s["median_step_ms"])
            cpu[key].append(s["median_cpu_ms"])
            loads.append(s["load_average"])
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for key, _ in configs:
        ms = results[key]
        lines.append("| " + " | ".join(str(k) for k in key) +
                     f" | {statistics.median(ms):.1f} | {min(ms):.1f} | {max(ms):.1f} | {statistics.median(cpu[key]):.1f} |")
    lines.append("")
    lines.append(f"{rounds} rounds × {steps} steps per configuration ({warmup} warm-up steps excluded); "
                 f"1-minute load average during the runs {min(loads):.1f} – {max(loads):.1f} on {os.cpu_count()} CPUs.")
    text = "\n".join(lines)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text + "\n")
    print(text)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["step-times", "cnn-step-times", "lr-grid", "report-lr"])
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch-sizes", default="128,256")
    p.add_argument("--lrs", default="1e-4,3e-4,1e-3,3e-3")
    p.add_argument("--grid-steps", type=int, default=3000, help="lr-grid: training steps per run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--targets", default="")
    p.add_argument("--activation", default="sigmoid")
    p.add_argument("--wait-policy", choices=["default", "passive", "active"], default="default",
                   help="lr-grid: OMP_WAIT_POLICY of the runs")
    p.add_argument("--wait-policies", default="default,passive",
                   help="step-time modes: OMP_WAIT_POLICY settings measured with 2 threads")
    a = p.parse_args(argv)

    policies = a.wait_policies.split(",")
    # (threads, OMP wait policy): the policy only matters with more than one thread.
    thread_settings = [(1, "default")] + [(2, w) for w in policies]
    columns = " median ms/step | best round | worst round | CPU ms/step |"
    if a.mode == "step-times":
        configs = [((b, t, w), ["--model", "ae", "--batch-size", str(b), "--threads", str(t), "--wait-policy", w,
                                "--activation", a.activation])
                   for b in (128, 256, 512) for t, w in thread_settings]
        step_time_table(configs, a.rounds, a.steps, a.warmup, a.out, "| batch | threads | OMP wait |" + columns)
    elif a.mode == "cnn-step-times":
        variants = [("32,64", 5), ("16,32", 5), ("16,32", 3)]
        configs = [((c, k, b, t, w), ["--model", "cnn", "--channels", c, "--kernel", str(k), "--batch-size", str(b),
                                      "--threads", str(t), "--wait-policy", w])
                   for c, k in variants for b in (64, 128) for t, w in thread_settings]
        step_time_table(configs, a.rounds, a.steps, a.warmup, a.out,
                        "| channels | kernel | batch | threads | OMP wait |" + columns)
    elif a.mode == "lr-grid":
        os.makedirs(a.out, exist_ok=True)
        for b in (int(x) for x in a.batch_sizes.split(",")):
            for lr in a.lrs.split(","):
                run(["--model", "ae", "--batch-size", str(b), "--threads", str(a.threads), "--lr", lr,
                     "--steps", str(a.grid_steps), "--seed", str(a.seed), "--eval-every", "50", "--eval-size", "5000",
                     "--activation", a.activation, "--wait-policy", a.wait_policy, "--csv", os.path.join(a.out, f"ae-b{b}-lr{lr}.csv")],
                    os.path.join(a.out, f"ae-b{b}-lr{lr}.json"))
    else:
        report_lr(a)
    return 0


def report_lr(a):
    runs = []
    for name in sorted(os.listdir(a.out)):
        if name.endswith(".json"):
            with open(os.path.join(a.out, name)) as f:
                runs.append(json.load(f))
    runs.sort(key=lambda s: (s["batch_size"], s["lr"]))
    targets = [float(t) for t in a.targets.split(",") if t]

    def loss_at(s, steps):
        return next((loss for step, _, loss in s["evals"] if step == steps), None)

    checkpoints = [250, 500, 1000, 2000, 3000, 4000, 6000]
    checkpoints = [c for c in checkpoints if any(loss_at(s, c) is not None for s in runs)]
    lines = ["| batch | lr |" + "".join(f" loss @{c} |" for c in checkpoints) + " loss at end (steps) |" +
             "".join(f" steps to {t:g} |" for t in targets),
             "|---|---|" + "---|" * (len(checkpoints) + 1 + len(targets))]
    for s in runs:
        cells = [str(s["batch_size"]), f"{s['lr']:g}"]
        for c in checkpoints:
            v = loss_at(s, c)
            cells.append("–" if v is None else f"{v:.1f}")
        cells.append(f"{s['final_eval_loss']:.1f} ({s['steps']})")
        for t in targets:
            hit = next(((step, sec) for step, sec, loss in s["evals"] if loss <= t), None)
            cells.append("–" if hit is None else str(hit[0]))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
