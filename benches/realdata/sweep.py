#!/usr/bin/env python3
"""The sweep behind `scoretape fit`'s per-objective defaults (the learning
rate, and dsm's noise level σ), recorded in docs/real-data.md.

    target/realdata-venv/bin/python benches/realdata/sweep.py

Each setting is fitted with otherwise default options (the default budget,
10% held out for fit's validation) and scored by the test metric of fit's
end-of-fit report on rows the fit never saw:

- continuous objectives (dsm, ssm, esm; MLP energy, --standardize): the
  test log-likelihood on the toy sets two-moons, 8-gaussians and rings
  (`scoretape data`, 1000 training rows, 1000 test rows of another seed),
  and on a held-back real set, scikit-learn's diabetes features (442×10,
  a seeded 75/25 split), which is not in the real-data table;
- ratio matching (rm; Boltzmann machine and MLP energy): the test
  pseudo-log-likelihood on bars-and-stripes (4×4 and 5×5 bits).

The choice per objective and model is the setting with the best mean rank
over the data sets (ties: the smaller learning rate). Writes
target/realdata/sweep.{md,json}.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from sklearn import datasets

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LRS = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
SIGMAS = [0.1, 0.2, 0.3, 0.5]


def write_csv(path, x):
    with open(path, "w") as f:
        for row in x:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def toy(binary, workdir, name, extra=()):
    paths = []
    for part, seed in (("train", 0), ("test", 1)):
        path = os.path.join(workdir, f"{name}{''.join(extra)}-{part}.csv")
        subprocess.run([binary, "data", name, "--n", "1000", "--seed", str(seed),
                        "--out", path] + list(extra), check=True)
        paths.append(path)
    return paths


def diabetes(workdir):
    x = datasets.load_diabetes().data
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(0.75 * len(x))
    paths = []
    for part, rows in (("train", order[:cut]), ("test", order[cut:])):
        path = os.path.join(workdir, f"diabetes-{part}.csv")
        write_csv(path, x[rows])
        paths.append(path)
    return paths


def fit(binary, workdir, train, test, options):
    out = os.path.join(workdir, "model.json")
    run = subprocess.run([binary, "fit", "--data", train, "--test", test, "--out", out,
                          "--quiet"] + options, capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip().splitlines()[-1]
    report = json.loads(run.stdout.strip().splitlines()[-1])["report"].get("test", {})
    metric = report.get("loglik") or report.get("pll")
    if metric is None:
        return None, "no test metric"
    flag = "" if metric.get("reliable", True) else "unreliable"
    return metric["value"], flag


def sweep(binary, workdir, cases, settings, label):
    """cases: [(data name, train, test)], settings: [(name, options)]."""
    table = {}
    for setting, options in settings:
        for data, train, test in cases:
            start = time.time()
            value, flag = fit(binary, workdir, train, test, options)
            table[(setting, data)] = (value, flag)
            print(f"{label} {setting} {data}: {value} {flag} ({time.time() - start:.1f} s)",
                  file=sys.stderr, flush=True)
    ranks = {s: [] for s, _ in settings}
    for data, _, _ in cases:
        # A failed fit ranks last.
        order = sorted(settings, key=lambda s: -(table[(s[0], data)][0] or -1e300))
        for rank, (s, _) in enumerate(order):
            ranks[s].append(rank + 1)
    mean_rank = {s: sum(r) / len(r) for s, r in ranks.items()}
    best = min(settings, key=lambda s: mean_rank[s[0]])[0]
    return {"label": label, "cases": [c[0] for c in cases],
            "table": {f"{s}|{d}": v for (s, d), v in table.items()},
            "mean_rank": mean_rank, "best": best,
            "settings": [s for s, _ in settings]}


def markdown(result):
    cases = result["cases"]
    lines = [f"#### {result['label']}: chosen {result['best']}\n",
             "| setting | " + " | ".join(cases) + " | mean rank |",
             "| --- |" + " ---: |" * (len(cases) + 1)]
    for s in result["settings"]:
        cells = []
        for d in cases:
            value, flag = result["table"][f"{s}|{d}"]
            cells.append("failed" if value is None else f"{value:.3f}" + (f" ({flag})" if flag else ""))
        mark = " **←**" if s == result["best"] else ""
        lines.append(f"| {s}{mark} | " + " | ".join(cells) + f" | {result['mean_rank'][s]:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "scoretape"))
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "realdata"))
    parser.add_argument("--only", default="dsm,ssm,esm,rm")
    args = parser.parse_args()
    workdir = os.path.join(args.out, "sweep")
    os.makedirs(workdir, exist_ok=True)
    continuous = [(name, *toy(args.bin, workdir, name))
                  for name in ("two-moons", "8-gaussians", "rings")]
    continuous.append(("diabetes", *diabetes(workdir)))
    bits = [(f"bars-and-stripes {k}×{k}",
             *toy(args.bin, workdir, "bars-and-stripes", ("--side", str(k))))
            for k in (4, 5)]
    only = args.only.split(",")
    results = []
    if "dsm" in only:
        settings = [(f"lr {lr:g}, σ {s:g}", ["--objective", "dsm", "--standardize", "--lr",
                                              str(lr), "--sigma", str(s)])
                    for lr in LRS[:5] for s in SIGMAS]
        results.append(sweep(args.bin, workdir, continuous, settings, "dsm, MLP"))
    for objective in ("ssm", "esm"):
        if objective in only:
            settings = [(f"lr {lr:g}", ["--objective", objective, "--standardize", "--lr", str(lr)])
                        for lr in LRS[:5]]
            results.append(sweep(args.bin, workdir, continuous, settings, f"{objective}, MLP"))
    if "rm" in only:
        for model in ("boltzmann", "mlp"):
            settings = [(f"lr {lr:g}", ["--objective", "rm", "--model", model, "--lr", str(lr)])
                        for lr in LRS]
            results.append(sweep(args.bin, workdir, bits, settings, f"rm, {model}"))
    text = "\n".join(markdown(r) for r in results)
    with open(os.path.join(args.out, "sweep.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
