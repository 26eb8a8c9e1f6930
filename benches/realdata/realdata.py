#!/usr/bin/env python3
"""The real-data table of docs/real-data.md: scoretape's command line against
scikit-learn's density estimators on the data sets scikit-learn ships.

Run `benches/realdata/setup.sh` once (a venv with the pinned requirements and
the release binary), then

    target/realdata-venv/bin/python benches/realdata/realdata.py

It writes target/realdata/{table.md, results.json} and the CSVs it fitted.

What it does, per data set (iris, wine, breast cancer: continuous; digits
binarised at 8 to {0, 1}):

- a seeded 60/20/20 split into train / validation / test rows (CSV files);
- our rows: `scoretape fit --data train.csv --test test.csv` with the
  options shown in the table and otherwise the defaults (which hold out
  10% of train.csv as fit's own validation split); the test numbers are
  fit's end-of-fit report, and per-row values come from `scoretape eval`
  (energies, plus log Z from the report) for the paired standard errors;
- the baselines, fitted on train.csv with scikit-learn, any choice made on
  validation.csv (Gaussian mixture: the number of components; RBM: the
  number of hidden units) or by 5-fold cross-validation on train.csv (the
  KDE bandwidth).

Every number is a mean over the test rows, in nats per row, in the data's
original units: the log-likelihood for continuous data, the exact
pseudo-log-likelihood (PLL) for digits. The ± is the standard error over
test rows (plus log Z's own error for our AIS estimates); "vs ref" is the
paired difference to the reference row (the Gaussian MLE; for digits the
independent Bernoulli), with its paired standard error.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np
from scipy.special import logsumexp
from sklearn import datasets
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.neural_network import BernoulliRBM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEED = 0

# Our rows on continuous data: (label, fit options), each MLP with the
# defaults and with early stopping on fit's own validation split (restoring
# the best parameters; 100 epochs of patience, since an epoch of a small
# data set is one or a few updates). MLP rows standardise (their defaults
# assume unit-scale inputs; wine's proline is ~10³); the quadratic's closed
# form is the same with or without it.
CONTINUOUS_OURS = [
    ("quadratic, closed form", ["--model", "quadratic", "--solver", "closed-form",
                                "--objective", "esm"]),
] + [
    (f"MLP, {objective}, --standardize{extra_label}",
     ["--objective", objective, "--standardize"] + extra)
    for objective in ("dsm", "ssm", "esm")
    for extra_label, extra in (("", []), (" --patience 100", ["--patience", "100"]))
]
BINARY_OURS = [
    ("Boltzmann machine, rm", ["--model", "boltzmann", "--objective", "rm"]),
    ("Boltzmann machine, rm --patience 100",
     ["--model", "boltzmann", "--objective", "rm", "--patience", "100"]),
    ("MLP, rm", ["--objective", "rm"]),
    ("MLP, rm --patience 100", ["--objective", "rm", "--patience", "100"]),
]


def load(name):
    """The data set as a float matrix (digits binarised: pixel ≥ 8 → 1)."""
    if name == "iris":
        x = datasets.load_iris().data
    elif name == "wine":
        x = datasets.load_wine().data
    elif name == "breast-cancer":
        x = datasets.load_breast_cancer().data
    elif name == "digits":
        x = (datasets.load_digits().data >= 8).astype(float)
    else:
        raise ValueError(name)
    return np.asarray(x, dtype=float)


def split(x, seed=SEED):
    """A seeded 60/20/20 split of the rows into train, validation, test."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_train, n_val = int(0.6 * len(x)), int(0.2 * len(x))
    return (x[order[:n_train]], x[order[n_train:n_train + n_val]],
            x[order[n_train + n_val:]])


def write_csv(path, x):
    # repr-exact floats: the binary reads exactly what scikit-learn fits.
    with open(path, "w") as f:
        for row in x:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def row(label, per_row, extra_se=0.0, note=""):
    """A table row from per-test-row values (log-density or PLL)."""
    per_row = np.asarray(per_row, dtype=float)
    se = math.sqrt(per_row.var(ddof=1) / len(per_row) + extra_se ** 2)
    return {"label": label, "value": float(per_row.mean()), "se": se,
            "extra_se": extra_se, "per_row": per_row, "note": note}


# ---------------------------------------------------------------- ours


def scoretape(binary, args):
    out = subprocess.run([binary] + args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"scoretape {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout, out.stderr


def energies(binary, model, csv):
    """E(x) per row of csv, in original units (through the input map)."""
    stdout, _ = scoretape(binary, ["eval", "--model", model, "--data", csv,
                                   "--quantity", "energy"])
    return np.asarray(json.loads(stdout)["values"], dtype=float)


def flips(x):
    """Each row followed by its d single-bit flips: [n·(d+1), d]."""
    n, d = x.shape
    out = np.repeat(x, d + 1, axis=0).reshape(n, d + 1, d)
    for j in range(d):
        out[:, j + 1, j] = 1.0 - out[:, j + 1, j]
    return out.reshape(n * (d + 1), d)


def pll_from_energies(e, d):
    """Exact PLL per row: Σ_j log σ(E(x^(j)) − E(x)) from the energies of
    each row and its d flips (as `flips` lays them out)."""
    e = e.reshape(-1, d + 1)
    gap = e[:, 1:] - e[:, :1]
    return -np.logaddexp(0.0, -gap).sum(axis=1)


def ours(binary, workdir, label, options, test, discrete_bits):
    model = os.path.join(workdir, label.replace(" ", "_").replace(",", "")
                         .replace("-", "") + ".json")
    start = time.time()
    stdout, stderr = scoretape(binary, [
        "fit", "--data", os.path.join(workdir, "train.csv"),
        "--test", os.path.join(workdir, "test.csv"),
        "--out", model, "--quiet"] + options)
    seconds = time.time() - start
    report = json.loads(stdout.strip().splitlines()[-1])["report"]["test"]
    warnings = [l for l in stderr.splitlines() if l.startswith("warning")]
    test_csv = os.path.join(workdir, "test.csv")
    if discrete_bits:
        flipped = os.path.join(workdir, "test_flips.csv")
        if not os.path.exists(flipped):
            write_csv(flipped, flips(test))
        per_row = pll_from_energies(energies(binary, model, flipped), test.shape[1])
        reported = report["pll"]
        r = row(label, per_row)
    else:
        reported = report["loglik"]
        per_row = (-energies(binary, model, test_csv) - reported["log_z"]
                   + reported.get("log_abs_det", 0.0))
        note = reported["method"]
        if reported["ess"] is not None:
            note += f", ESS {reported['ess']:.0f}"
        if not reported["reliable"]:
            note += ", UNRELIABLE"
        r = row(label, per_row, extra_se=reported["log_z_se"], note=note)
    # The per-row values must average to what fit reported.
    if abs(r["value"] - reported["value"]) > 1e-6 * max(1.0, abs(r["value"])):
        raise RuntimeError(f"{label}: per-row mean {r['value']} != reported "
                           f"{reported['value']}")
    r["seconds"] = seconds
    r["options"] = options
    r["warnings"] = warnings
    return r


# ----------------------------------------------------------- baselines


def gaussian_mle(train, test):
    mean = train.mean(axis=0)
    cov = np.cov(train, rowvar=False, bias=True)
    d = train.shape[1]
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, (test - mean).T)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (z ** 2).sum(axis=0) - 0.5 * log_det - 0.5 * d * math.log(2 * math.pi)


def standardiser(train):
    """Per-column mean and sd of train, and log|det| of x ↦ (x − m)/s."""
    m, s = train.mean(axis=0), train.std(axis=0)
    return (lambda x: (x - m) / s), -np.log(s).sum()


def gaussian_mixture(train, val, test):
    """Full-covariance mixtures on standardised data, K chosen on val."""
    z, log_det = standardiser(train)
    best = None
    for k in range(1, 7):
        gm = GaussianMixture(k, covariance_type="full", n_init=3,
                             random_state=SEED).fit(z(train))
        score = gm.score(z(val))
        if best is None or score > best[0]:
            best = (score, k, gm)
    _, k, gm = best
    return gm.score_samples(z(test)) + log_det, f"K = {k}"


def kde(train, test):
    """A Gaussian KDE on standardised data, bandwidth by 5-fold CV."""
    z, log_det = standardiser(train)
    grid = GridSearchCV(KernelDensity(kernel="gaussian"),
                        {"bandwidth": np.logspace(-1.5, 0.5, 25)}, cv=5)
    grid.fit(z(train))
    h = grid.best_params_["bandwidth"]
    return grid.best_estimator_.score_samples(z(test)) + log_det, f"h = {h:.3f}"


def bernoulli(train, test):
    """Independent bits, Laplace-smoothed; its PLL is its log-likelihood."""
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)
    return (test * np.log(p) + (1 - test) * np.log(1 - p)).sum(axis=1)


def rbm_free_energy(rbm, v):
    """F(v) = −b·v − Σ_h softplus(c_h + W_h·v): p(v) ∝ exp(−F(v))."""
    return (-v @ rbm.intercept_visible_
            - np.logaddexp(0.0, v @ rbm.components_.T + rbm.intercept_hidden_).sum(axis=1))


def rbm_exact_pll(rbm, x):
    """Exact PLL from the free energy (scikit-learn's score_samples flips one
    random bit per row and scales by d: a stochastic estimate)."""
    d = x.shape[1]
    return pll_from_energies(rbm_free_energy(rbm, flips(x)), d)


def rbm(train, val, test):
    best = None
    for hidden in (32, 64, 128):
        m = BernoulliRBM(n_components=hidden, learning_rate=0.05, batch_size=20,
                         n_iter=40, random_state=SEED).fit(train)
        score = rbm_exact_pll(m, val).mean()
        if best is None or score > best[0]:
            best = (score, hidden, m)
    _, hidden, m = best
    return rbm_exact_pll(m, test), f"{hidden} hidden (on validation), exact PLL"


# --------------------------------------------------------------- table


def paired(r, ref):
    if r is ref:
        return None
    diff = r["per_row"] - ref["per_row"]
    se = math.sqrt(diff.var(ddof=1) / len(diff) + r["extra_se"] ** 2 + ref["extra_se"] ** 2)
    return float(diff.mean()), se


def run_dataset(name, binary, outdir):
    workdir = os.path.join(outdir, name)
    os.makedirs(workdir, exist_ok=True)
    x = load(name)
    train, val, test = split(x)
    for part, data in (("train", train), ("validation", val), ("test", test)):
        write_csv(os.path.join(workdir, part + ".csv"), data)
    bits = name == "digits"
    rows = []
    if bits:
        rows.append(row("independent Bernoulli (sklearn-free, Laplace)", bernoulli(train, test)))
        per_row, note = rbm(train, val, test)
        rows.append(row("scikit-learn BernoulliRBM", per_row, note=note))
        ours_rows = BINARY_OURS
    else:
        rows.append(row("Gaussian MLE", gaussian_mle(train, test), note="exact"))
        per_row, note = gaussian_mixture(train, val, test)
        rows.append(row("Gaussian mixture (standardised)", per_row, note=note))
        per_row, note = kde(train, test)
        rows.append(row("KDE (standardised)", per_row, note=note))
        ours_rows = CONTINUOUS_OURS
    for label, options in ours_rows:
        print(f"  {name}: {label} ...", file=sys.stderr, flush=True)
        rows.append(ours(binary, workdir, label, options, test, bits))
        print(f"    {rows[-1]['value']:.3f} ± {rows[-1]['se']:.3f} "
              f"({rows[-1]['seconds']:.1f} s)", file=sys.stderr, flush=True)
    ref = rows[0]
    for r in rows:
        r["vs_ref"] = paired(r, ref)
    return {"name": name, "shape": list(x.shape),
            "split": [len(train), len(val), len(test)],
            "metric": "PLL" if bits else "log-likelihood", "rows": rows}


def markdown(results):
    lines = []
    for ds in results:
        n, d = ds["shape"]
        lines.append(f"### {ds['name']} ({n}×{d}; train/validation/test "
                     f"{'/'.join(map(str, ds['split']))}), test {ds['metric']}, nats per row\n")
        lines.append(f"| model | test {ds['metric']} ± SE | vs {ds['rows'][0]['label']} "
                     "(paired) | note | fit time |")
        lines.append("| --- | ---: | ---: | --- | ---: |")
        for r in ds["rows"]:
            vs = "—" if r["vs_ref"] is None else f"{r['vs_ref'][0]:+.3f} ± {r['vs_ref'][1]:.3f}"
            t = f"{r['seconds']:.1f} s" if "seconds" in r else ""
            note = r["note"]
            if r.get("warnings"):
                note += " (fit warned)"
            lines.append(f"| {r['label']} | {r['value']:.3f} ± {r['se']:.3f} | {vs} | {note} | {t} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "scoretape"))
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "realdata"))
    parser.add_argument("--datasets", default="iris,wine,breast-cancer,digits")
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} is missing: run benches/realdata/setup.sh "
                 "(cargo build --release --features cli)")
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    results = []
    for name in args.datasets.split(","):
        print(f"{name} ...", file=sys.stderr, flush=True)
        results.append(run_dataset(name, args.bin, args.out))
    total = time.time() - start
    table = markdown(results)
    footer = (f"Total time {total / 60:.1f} min; Python {platform.python_version()}, "
              f"numpy {np.__version__}, scikit-learn "
              f"{__import__('sklearn').__version__}.\n")
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table + "\n" + footer)
    for ds in results:
        for r in ds["rows"]:
            r["per_row"] = r["per_row"].tolist()
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"results": results, "seconds": total}, f, indent=1)
    print(table)
    print(footer)


if __name__ == "__main__":
    main()
