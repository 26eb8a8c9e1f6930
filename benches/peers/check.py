#!/usr/bin/env python3
"""Checks that the peers compute what the benchmark says, before anyone times them.

    target/peers-venv/bin/python benches/peers/check.py [--sizes S,M]

1. An independent oracle in numpy: E and g = grad_x E of mlp-ebm in closed
   form, H by central differences of g, and from them every objective's loss
   (esm, ssm, ssm-vr, dsm, rm) and Rosenbrock's gradient and H v in closed form.
   Every framework's results must match it to 1e-6 relative.
2. The three frameworks against each other, to 1e-9 relative: every output of
   every batch workload (E and g, H v, each loss and dJ/dtheta), and, for the
   noise-free training steps (train-esm, train-rm), the loss of the first step
   and the parameters after three Adam steps.

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
A framework that cannot be imported is reported and skipped.
"""
import argparse
import sys

import numpy as np

import inputs
from spec import BATCH_WORKLOADS, FRAMEWORKS, ROSENBROCK, SIGMA, SIZES

ORACLE_RTOL = 1e-6  # H by central differences carries ~1e-9 relative error; 1e-6 still fails a 1% slip
PEER_RTOL = 1e-9


def softplus(z):
    return np.logaddexp(0.0, z)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def energy_and_grad(theta, x):
    """E and dE/dx for rows x [n, d], by the chain rule written out."""
    z1 = x @ theta["W1"].T + theta["b1"]
    a1 = softplus(z1)
    z2 = a1 @ theta["W2"].T + theta["b2"]
    e = softplus(z2) @ theta["w3"] + theta["b3"]
    delta2 = sigmoid(z2) * theta["w3"]  # dE/dz2
    delta1 = sigmoid(z1) * (delta2 @ theta["W2"])  # dE/dz1
    return e, delta1 @ theta["W1"]


def hessians(theta, x, step=1e-4):
    """H(x_b) for every row, [n, d, d], by central differences of the exact gradient."""
    n, d = x.shape
    columns = []
    for j in range(d):
        shift = np.zeros(d)
        shift[j] = step
        columns.append((energy_and_grad(theta, x + shift)[1] - energy_and_grad(theta, x - shift)[1]) / (2 * step))
    return np.stack(columns, axis=2)


def oracle_loss(objective, theta, data):
    x, v, eps, bits = data["x"], data["v"], data["eps"], data["bits"]
    if objective == "dsm":
        r = -energy_and_grad(theta, x + SIGMA * eps)[1] + eps / SIGMA
        return np.mean(0.5 * np.sum(r * r, 1))
    if objective == "rm":
        e0 = energy_and_grad(theta, bits)[0]
        d = bits.shape[1]
        flips = np.abs(bits[:, None, :] - np.eye(d)).reshape(-1, d)
        ej = energy_and_grad(theta, flips)[0].reshape(-1, d)
        return np.mean(np.sum(sigmoid(e0[:, None] - ej) ** 2, 1))
    _, g = energy_and_grad(theta, x)
    h = hessians(theta, x)
    if objective == "esm":
        return np.mean(-np.trace(h, axis1=1, axis2=2) + 0.5 * np.sum(g * g, 1))
    v_h_v = np.einsum("bi,bij,bj->b", v, h, v)
    second = np.sum(g * g, 1) if objective == "ssm-vr" else np.sum(v * g, 1) ** 2
    return np.mean(-v_h_v + 0.5 * second)


def oracle_rosenbrock():
    x, v = inputs.rosenbrock_point()
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    diag = np.zeros_like(x)  # H is tridiagonal
    diag[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    off = -400.0 * x[:-1]
    hv = diag * v
    hv[:-1] += off * v[1:]
    hv[1:] += off * v[:-1]
    return g, hv


def flat(result):
    """A result (nested tuples and dicts of tensors) as a list of float64 numpy arrays."""
    if isinstance(result, dict):
        return [a for k in sorted(result) for a in flat(result[k])]
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in flat(r)]
    if hasattr(result, "detach"):
        result = result.detach()
    return [np.asarray(result, dtype=np.float64)]


def close(a, b, rtol, scale=None):
    """|a - b| <= rtol * scale entry by entry; the scale defaults to the larger array's
    largest entry (a relative test that tolerates entries near 0)."""
    if scale is None:
        scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)
    return a.shape == b.shape and np.max(np.abs(a - b)) <= rtol * scale


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        print("%s  %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else "  " + detail))
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def builders():
    found = {}
    for framework in FRAMEWORKS:
        try:
            if framework == "jax":
                import jax_peer
                found[framework] = jax_peer.build
            else:
                import torch_peer
                found[framework] = (lambda f: lambda w, s: torch_peer.build(f, w, s))(framework)
        except ImportError as e:
            print("skip %s: %s" % (framework, e))
    return found


def run(build, workload, size, calls=1):
    """The outputs of the last of `calls` calls of a fresh cell, flattened."""
    call, sync, _ = build(workload, size)
    for _ in range(calls):
        result = call()
        sync(result)
    return flat(result)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,M", help="sizes to check (L works, slowly)")
    sizes = parser.parse_args().sizes.split(",")
    tally = Tally()
    frameworks = builders()

    g_ref, hv_ref = oracle_rosenbrock()
    for framework, build in frameworks.items():
        got = run(build, ROSENBROCK, "S")
        tally.check("%s rosenbrock vs closed form" % framework,
                    len(got) == 2 and close(got[0], g_ref, ORACLE_RTOL) and close(got[1], hv_ref, ORACLE_RTOL))

    for size in sizes:
        d, h, rows = SIZES[size]
        theta, data = inputs.initial_params(d, h), inputs.batch(d, rows)
        e_ref, g_ref = energy_and_grad(theta, data["x"])
        for workload in BATCH_WORKLOADS:
            results = {f: run(b, workload, size) for f, b in frameworks.items()}
            for framework, got in results.items():
                if workload == "grad":
                    ok = close(got[0], e_ref, ORACLE_RTOL) and close(got[1], g_ref, ORACLE_RTOL)
                elif workload == "hvp":
                    hv = np.einsum("bij,bj->bi", hessians(theta, data["x"]), data["v"])
                    ok = close(got[0], hv, ORACLE_RTOL)
                else:
                    ok = close(got[0], np.asarray(oracle_loss(workload, theta, data)), ORACLE_RTOL)
                tally.check("%s %s %s vs numpy oracle" % (framework, workload, size), ok,
                            "got %s" % got[0].ravel()[:3])
            check_agreement(tally, "%s %s" % (workload, size), results)

        for workload in ("train-esm", "train-rm"):  # no noise: every framework takes the same steps
            first = {f: run(b, workload, size) for f, b in frameworks.items()}
            third = {f: run(b, workload, size, calls=3) for f, b in frameworks.items()}
            loss_ref = oracle_loss(workload[len("train-"):], theta, training_batch(d, rows, workload))
            for framework, got in first.items():
                tally.check("%s %s %s first loss vs numpy oracle" % (framework, workload, size),
                            close(got[-1], np.asarray(loss_ref), ORACLE_RTOL))
            check_agreement(tally, "%s %s after 3 steps" % (workload, size), third)

    print("%d passed, %d failed" % (tally.passed, tally.failed))
    sys.exit(1 if tally.failed else 0)


def training_batch(d, rows, workload):
    x = inputs.training_set(d, binary=workload == "train-rm")[:rows]
    return {"x": x, "v": None, "eps": None, "bits": x}


def check_agreement(tally, name, results):
    """Every framework's outputs against the first one's, array by array, relative to the
    largest entry of any output: an exact 0 (the gradient in b3, which cancels out of every
    objective) may come out as rounding noise from a framework that sums +1 and -1 terms."""
    frameworks = list(results)
    for other in frameworks[1:]:
        a, b = results[frameworks[0]], results[other]
        scale = max(np.max(np.abs(x)) for x in a + b)
        ok = len(a) == len(b) and all(close(x, y, PEER_RTOL, scale) for x, y in zip(a, b))
        tally.check("%s: %s = %s" % (name, frameworks[0], other), ok)


if __name__ == "__main__":
    main()
