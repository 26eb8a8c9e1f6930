#!/usr/bin/env python3
"""End to end: `scoretape fit` for 2000 steps against the same training in JAX and PyTorch.

    target/peers-venv/bin/python benches/peers/fit_e2e.py [--objectives esm,ssm] [--size M]
        [--steps 2000] [--rounds 3] [--json-out target/peers/fit_e2e.jsonl]

Each run is one process timed from the outside (wall clock): start-up, imports,
reading the CSV, compilation (JAX's jit) and every step, as a user meets them.
The data are the training set of the train-* workloads (spec.py: TRAIN_ROWS rows
of N(0, I) in d dimensions), written once to a CSV that every side reads.

- ours: `scoretape fit --model mlp --hidden h,h --activation softplus
  --batch-size 128 --lr 1e-3 --steps N --validation 0 --quiet`, and
  `--no-report` when the binary knows it (the held-out report at the end is
  not training);
- jax, torch: this script again with `--peer`, which loads the CSV with numpy
  and runs N calls of the peer's train-* step (jax_peer.train_call,
  torch_peer.train_call): the same model mlp-ebm(d, h), objective, batch
  slicing and Adam settings as the training benchmark.

Rounds alternate the order of the sides; the table gives each side's median
wall time and ours / best peer. Run it with the peers' Python (setup.sh).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from spec import SIZES  # noqa: E402


def peer_main(opts):
    """In the peer's process: load the CSV, build the step, run it --steps times."""
    import numpy as np
    import inputs

    rows = np.loadtxt(opts.data, delimiter=",", dtype=np.float64)
    inputs.training_set = lambda d, binary: rows  # the step reads the CSV's rows
    workload = "train-" + opts.objective
    if opts.peer == "jax":
        import jax
        import jax_peer
        call = jax_peer.train_call(workload, opts.size)
        result = None
        for _ in range(opts.steps):
            result = call()
        jax.block_until_ready(result)
        loss = float(result[1])
    else:
        import torch_peer
        call = torch_peer.train_call(opts.peer, workload, opts.size)
        for _ in range(opts.steps):
            result = call()
        loss = float(result[1])
    print(json.dumps({"peer": opts.peer, "final_loss": loss}))


def write_data(path, d):
    import inputs
    rows = inputs.training_set(d, binary=False)
    with open(path, "w") as f:
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def ours_command(binary, data, objective, size, steps, out):
    d, h, batch = SIZES[size]
    command = [
        binary, "fit", "--data", data, "--objective", objective, "--model", "mlp",
        "--hidden", "%d,%d" % (h, h), "--activation", "softplus",
        "--batch-size", str(batch), "--lr", "1e-3", "--steps", str(steps),
        "--validation", "0", "--quiet", "--out", out,
    ]
    help_text = subprocess.run([binary, "fit", "--help"], capture_output=True, text=True).stdout
    if "--no-report" in help_text:
        command.append("--no-report")
    return command


def timed(command):
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (done.returncode, " ".join(command), done.stderr[-2000:]))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", choices=["jax", "torch", "torch-autograd"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--objective", default="esm", help=argparse.SUPPRESS)
    parser.add_argument("--objectives", default="esm,ssm")
    parser.add_argument("--size", default="M", choices=sorted(SIZES))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", default="jax,torch")
    parser.add_argument("--ours", default=os.path.join(REPO, "target", "release", "scoretape"))
    parser.add_argument("--json-out")
    opts = parser.parse_args()
    if opts.peer:
        return peer_main(opts)

    work = os.path.join(REPO, "target", "peers")
    os.makedirs(work, exist_ok=True)
    d = SIZES[opts.size][0]
    data = os.path.join(work, "fit-e2e-d%d.csv" % d)
    if not os.path.exists(data):
        write_data(data, d)
    records = []
    for objective in opts.objectives.split(","):
        sides = {"ours": ours_command(opts.ours, data, objective, opts.size, opts.steps,
                                      os.path.join(work, "fit-e2e-model.json"))}
        for peer in opts.peers.split(","):
            sides[peer] = [sys.executable, os.path.abspath(__file__), "--peer", peer, "--data", data,
                           "--objective", objective, "--size", opts.size, "--steps", str(opts.steps)]
        times = {side: [] for side in sides}
        for round_index in range(opts.rounds):
            order = list(sides) if round_index % 2 == 0 else list(reversed(list(sides)))
            for side in order:
                times[side].append(timed(sides[side]))
        medians = {side: statistics.median(t) for side, t in times.items()}
        best = min((s for s in medians if s != "ours"), key=medians.get)
        record = {"objective": objective, "size": opts.size, "steps": opts.steps,
                  "seconds": medians, "rounds": opts.rounds,
                  "ours_over_best": medians["ours"] / medians[best], "best_peer": best}
        records.append(record)
        print(json.dumps(record), flush=True)
    print()
    print("| fit, %d steps, size %s | %s | ours / best |" % (opts.steps, opts.size, " | ".join(sides)))
    print("|---|%s---|" % ("---|" * len(sides)))
    for r in records:
        cells = " | ".join("%.2f s" % r["seconds"][s] for s in sides)
        print("| %s | %s | %.2f (%s) |" % (r["objective"], cells, r["ours_over_best"], r["best_peer"]))
    if opts.json_out:
        with open(opts.json_out, "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
