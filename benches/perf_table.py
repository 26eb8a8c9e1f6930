#!/usr/bin/env python3
"""Renders the measurements of docs/performance.md as Markdown tables.

    python3 benches/perf_table.py compare target/peers/compare.jsonl  # benches/peers/compare.py --json-out
    python3 benches/perf_table.py sweep target/peers/sweep.jsonl      # scoretape bench --dim D --json
    python3 benches/perf_table.py xla target/peers/xla.jsonl          # benches/peers/peers.py --xla-cost --json

Flops are counted analytically (matmul flops only, 2 per multiply-add), as
multiples of one forward pass F = 2B(dh + h^2 + h) of mlp-ebm(d, h) on a batch
of B; docs/performance.md explains each multiple.
"""
import json
import os
import sys

SIZES = {"S": (2, 64, 128), "M": (16, 128, 128), "L": (64, 256, 128)}
# The machine's f64 GEMM throughput on all its cores, in GFLOP/s, for the
# "% of GEMM peak" column: set GEMM_PEAK_GFLOPS in the environment (108 on the
# 2-core AVX-512 Xeon of the older table); unset, the column shows "—".
GEMM_PEAK_GFLOPS = float(os.environ["GEMM_PEAK_GFLOPS"]) if os.environ.get("GEMM_PEAK_GFLOPS") else None


def forward_flops(d, h, b):
    return 2 * b * (d * h + h * h + h)


def flop_multiple(workload, d):
    """Matmul flops of one call, in forward passes F."""
    return {
        "grad": 2,
        "hvp": 4,
        "esm": 6 * (d + 1),
        "ssm": 12,
        "ssm-vr": 12,
        "fd-ssm": 9,
        "dsm": 6,
        "rm": 3 * (d + 1),
    }.get(workload)


def fmt_time(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return "%.1f µs" % (s * 1e6)
    if s < 1:
        return "%.2f ms" % (s * 1e3)
    return "%.2f s" % s


def flops(workload, d, h, b):
    m = flop_multiple(workload, d)
    return None if m is None else m * forward_flops(d, h, b)


def read(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip().startswith("{")]


def compare(path):
    print("| workload | size | ours | JAX | PyTorch (torch.func) | PyTorch (autograd) "
          "| ours / best peer | GFLOP | ours GFLOP/s | % of GEMM peak | RSS ours / JAX (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in read(path):
        w, s = r["workload"], r["size"]
        med = r["medians_s"]
        ours = med.get("scoretape")
        if ours is None:  # our binary could not run the cell (see the row's "problems")
            print("| %s | %s | unavailable | — | — | — | — | — | — | — | — |" % (w, s))
            continue
        if w == "rosenbrock":
            f, size = None, "n=100"
        else:
            f, size = flops(w, *SIZES[s]), s
        rate = f / ours / 1e9 if f else None
        rss = r["peak_rss_mb"]
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f / %s |" % (
            w, size, fmt_time(ours), fmt_time(med.get("jax")), fmt_time(med.get("torch")),
            fmt_time(med.get("torch-autograd")),
            "%.2f (%s)" % (r["ratio"], r["best_peer"]) if r["ratio"] is not None else "—",
            "%.3f" % (f / 1e9) if f else "—",
            "%.1f" % rate if rate else "—",
            "%.1f %%" % (100 * rate / GEMM_PEAK_GFLOPS) if rate and GEMM_PEAK_GFLOPS else "—",
            rss["scoretape"], "%.0f" % rss["jax"] if "jax" in rss else "—"))


def sweep(path):
    rows = {}
    for r in read(path):
        rows.setdefault(r["d"], {})[r["workload"]] = r
    print("| d | esm | ssm | esm / ssm | esm GFLOP/s | ssm GFLOP/s | RSS esm (MB) |")
    print("|---|---|---|---|---|---|---|")
    for d in sorted(rows):
        e, s = rows[d].get("esm"), rows[d].get("ssm")
        fe, fs = flops("esm", d, e["h"], e["B"]), flops("ssm", d, s["h"], s["B"])
        print("| %d | %s | %s | %.1f | %.1f | %.1f | %.0f |" % (
            d, fmt_time(e["median_s"]), fmt_time(s["median_s"]), e["median_s"] / s["median_s"],
            fe / e["median_s"] / 1e9, fs / s["median_s"] / 1e9, e["peak_rss_mb"]))


def xla(path):
    print("| workload | size | our count (GFLOP) | XLA's count (GFLOP) | ratio |")
    print("|---|---|---|---|---|")
    for r in read(path):
        if "xla_flops" not in r:
            continue
        ours = flops(r["workload"], r["d"], r["h"], r["B"])
        print("| %s | %s | %.3f | %.3f | %.2f |" % (
            r["workload"], r["size"], ours / 1e9, r["xla_flops"] / 1e9, r["xla_flops"] / ours))


if __name__ == "__main__":
    {"compare": compare, "sweep": sweep, "xla": xla}[sys.argv[1]](sys.argv[2])
