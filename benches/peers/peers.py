#!/usr/bin/env python3
"""Times one cell of the standard workloads in JAX or PyTorch.

    python peers.py --framework jax|torch|torch-autograd --workload NAME --size S|M|L [--json]
                    [--calls N] [--warmup N] [--min-time SECONDS] [--xla-cost]

Run it with the peers' Python (benches/peers/setup.sh). The workloads, sizes
and timing options are those of `scoretape bench`, and so is the JSON line
(--json): one line with at least "workload", "median_s" and "peak_rss_mb"
(README.md beside this file gives the whole contract). Timing: one untimed
first call (JAX compiles there), --warmup untimed calls, then timed calls, each
waited for, until at least --calls calls and --min-time seconds were timed.
--xla-cost (jax, batch workloads) adds XLA's flop count of the compiled program.
"""
import argparse
import json
import platform
import resource
import statistics
import sys
import time

from spec import FRAMEWORKS, SIZES, TRAIN_WORKLOADS, WORKLOADS, ROSENBROCK, size_label


def build(framework, workload, size):
    # Imported here, so a venv without PyTorch still runs JAX and the reverse.
    if framework == "jax":
        import jax_peer
        return jax_peer.build(workload, size), jax_peer.versions()
    import torch_peer
    return torch_peer.build(framework, workload, size), torch_peer.versions()


def peak_rss_mb():
    """The peak resident memory of this process (VmHWM), as scoretape bench reports it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def time_calls(call, sync, calls, warmup, min_time):
    """(first call's seconds, [seconds of each timed call])."""
    start = time.perf_counter()
    sync(call())
    first = time.perf_counter() - start
    for _ in range(warmup):
        sync(call())
    times = []
    while len(times) < calls or sum(times) < min_time:
        start = time.perf_counter()
        sync(call())
        times.append(time.perf_counter() - start)
    return first, times


def run_cell(framework, workload, size, opts):
    (call, sync, cost), versions = build(framework, workload, size)
    first, times = time_calls(call, sync, opts.calls, opts.warmup, opts.min_time)
    record = {
        "framework": framework,
        "workload": workload,
        "size": size_label(workload, size),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "calls": len(times),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "first_call_s": first,
    }
    if workload != ROSENBROCK:
        d, h, rows = SIZES[size]
        record.update(d=d, h=h, B=rows)
    if opts.xla_cost and cost is not None:
        record.update(cost())
    record["versions"] = dict(versions, python=platform.python_version())
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", required=True, choices=FRAMEWORKS)
    parser.add_argument("--workload", required=True, choices=WORKLOADS)
    parser.add_argument("--size", default="S", choices=list(SIZES), help="ignored by rosenbrock")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--calls", type=int, default=20, help="the least number of timed calls")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls after the first")
    parser.add_argument("--min-time", type=float, default=1.0, help="the least seconds timed")
    parser.add_argument("--xla-cost", action="store_true", help="add XLA's cost analysis (jax)")
    opts = parser.parse_args()
    if opts.calls < 1:
        parser.error("--calls must be at least 1")

    record = run_cell(opts.framework, opts.workload, opts.size, opts)
    if opts.json:
        print(json.dumps(record))
    else:
        kind = "step" if opts.workload in TRAIN_WORKLOADS else "call"
        print("%s %s %s: median %.3g s per %s over %d calls, peak RSS %.1f MB" % (
            record["framework"], record["workload"], record["size"], record["median_s"], kind,
            record["calls"], record["peak_rss_mb"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
