#!/usr/bin/env python3
"""Times scoretape against JAX and PyTorch on the standard workloads, cell by cell.

    python3 benches/peers/compare.py --cells esm:S,rosenbrock,grad:M [--rounds 2]
    python3 benches/peers/compare.py --all --rounds 2 --json-out target/peers/compare.jsonl

For every cell (workload:size) and every round, ours runs once and then each
peer, one process each (so each peak RSS is that cell's own); the order
flips every other round, so a drift in the machine's load falls on both sides.
The table reports the median of each side's per-round medians, the ratio
ours / best peer (below 1: we are faster) and each side's peak RSS.

Ours is `scoretape bench` (default: the release build in this repository's
target/; build it first with `cargo build --release --features cli`), run as
    OURS --workload NAME --size S|M|L --json --calls N --warmup N --min-time S
The peers are peers.py beside this file, run by the peers' Python (default:
$PEERS_PY, else target/peers-venv/bin/python from setup.sh), with the same
options. Both must print one JSON line with at least "workload", "median_s"
and "peak_rss_mb" (README.md beside this file); a line without them stops the
run with an error naming the missing keys. A workload that our binary does
not know (an older build without the train-* workloads) makes its cells
"unavailable", and the run goes on. Needs only the Python 3 standard library.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

from spec import FRAMEWORKS, SIZES, WORKLOADS, all_cells, size_label

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OURS = "scoretape"
REQUIRED_KEYS = ("workload", "median_s", "peak_rss_mb")


class ContractError(Exception):
    """A runner printed something other than the JSON line of the contract."""


class Unavailable(Exception):
    """Our binary does not know this workload."""


class Failed(Exception):
    """A runner exited with an error."""


def json_line(side, text, workload):
    """The last JSON line of a runner's output, checked against the contract."""
    lines = [line for line in text.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise ContractError("%s printed no JSON line for %s; output ends:\n%s" % (side, workload, text[-1000:]))
    try:
        record = json.loads(lines[-1])
    except ValueError as e:
        raise ContractError("%s printed a line that is not JSON for %s: %s\n%s" % (side, workload, e, lines[-1]))
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ContractError("%s's JSON line for %s lacks %s: %s" % (side, workload, ", ".join(missing), lines[-1]))
    if record["workload"] != workload:
        raise ContractError("%s reported workload %r when asked for %r" % (side, record["workload"], workload))
    return record


def run_side(side, command, workload, size, opts):
    timing = ["--workload", workload, "--size", size, "--json", "--calls", str(opts.calls),
              "--warmup", str(opts.warmup), "--min-time", str(opts.min_time)]
    try:
        done = subprocess.run(command + timing, capture_output=True, text=True, timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        raise Failed("%s timed out after %.0f s" % (side, opts.timeout))
    except OSError as e:
        raise Failed("%s could not start (%s): %s" % (side, " ".join(command), e))
    if done.returncode != 0:
        error = done.stderr.strip()
        if side == OURS and "unknown workload" in error:
            raise Unavailable(error.splitlines()[0])
        raise Failed("%s exited %d: %s" % (side, done.returncode, error[-600:]))
    return json_line(side, done.stdout, workload)


def measure_cell(workload, size, commands, opts):
    """{side: [per-round median]}, {side: peak RSS}, {side: why it could not run}."""
    medians, rss, problems = {}, {}, {}
    for round_index in range(opts.rounds):
        order = list(commands) if round_index % 2 == 0 else list(reversed(commands))
        for side in order:
            if side in problems:
                continue
            try:
                record = run_side(side, commands[side], workload, size, opts)
            except (Unavailable, Failed) as e:
                problems[side] = str(e)
                if side == OURS:  # nothing to compare against: leave the peers be
                    return medians, rss, problems
                continue
            medians.setdefault(side, []).append(record["median_s"])
            rss[side] = max(rss.get(side, 0.0), record["peak_rss_mb"])
    return medians, rss, problems


def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return "%.1f us" % (seconds * 1e6)
    if seconds < 1:
        return "%.2f ms" % (seconds * 1e3)
    return "%.2f s" % seconds


def cell_row(workload, size, medians, rss, problems):
    med = {side: statistics.median(values) for side, values in medians.items()}
    peers = {side: m for side, m in med.items() if side != OURS}
    best = min(peers, key=peers.get) if peers else None
    ratio = med[OURS] / peers[best] if best and OURS in med else None
    return {"workload": workload, "size": size_label(workload, size), "medians_s": med,
            "rounds_s": medians, "peak_rss_mb": rss, "best_peer": best, "ratio": ratio,
            "problems": problems, "unavailable": OURS in problems and "unknown workload" in problems[OURS]}


def print_row(row, peers):
    med, rss = row["medians_s"], row["peak_rss_mb"]
    if OURS not in med:
        status = "unavailable" if row["unavailable"] else "FAILED"
        print("%-10s %-5s %s: %s" % (row["workload"], row["size"], status, row["problems"][OURS]), flush=True)
        return
    cells = ["%-10s %-5s" % (row["workload"], row["size"]), "%10s" % fmt_time(med[OURS])]
    cells += ["%10s" % fmt_time(med.get(p)) for p in peers]
    ratio = "%.2f (%s)" % (row["ratio"], row["best_peer"]) if row["ratio"] is not None else "-"
    cells.append("%-22s" % ratio)
    cells.append("  ".join("%.0f" % rss[s] if s in rss else "-" for s in [OURS] + peers))
    print(" ".join(cells), flush=True)
    for side, problem in row["problems"].items():
        print("    %s could not run this cell: %s" % (side, problem.splitlines()[0][:300]), flush=True)


def parse_cells(text):
    cells = []
    for item in filter(None, text.split(",")):
        workload, _, size = item.partition(":")
        size = size or "S"
        if workload not in WORKLOADS or size not in SIZES:
            raise ValueError("unknown cell %r: workloads are %s, sizes %s" % (
                item, ", ".join(WORKLOADS), ", ".join(SIZES)))
        cells.append((workload, size))
    return cells


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--cells", help="comma-separated workload:size (size defaults to S)")
    which.add_argument("--all", action="store_true", help="every cell, the train-* workloads included")
    parser.add_argument("--ours", default=os.path.join(REPO, "target", "release", "scoretape") + " bench",
                        help="our bench runner command (default: target/release/scoretape bench)")
    parser.add_argument("--py", default=os.environ.get("PEERS_PY") or os.path.join(REPO, "target", "peers-venv", "bin", "python"),
                        help="the peers' Python (default: $PEERS_PY, else target/peers-venv/bin/python)")
    parser.add_argument("--peers", default=",".join(FRAMEWORKS), help="comma-separated: jax, torch, torch-autograd")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per cell")
    parser.add_argument("--calls", type=int, default=20, help="the least timed calls per run (both sides)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per run (both sides)")
    parser.add_argument("--min-time", type=float, default=1.0, help="the least seconds timed per run (both sides)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before one run counts as failed")
    parser.add_argument("--json-out", help="write one JSON line per cell here (benches/perf_table.py reads it)")
    opts = parser.parse_args()
    peers = [p for p in opts.peers.split(",") if p]
    unknown = [p for p in peers if p not in FRAMEWORKS]
    if unknown or opts.rounds < 1:
        parser.error("unknown peers %s or --rounds below 1" % unknown)
    try:
        cells = all_cells() if opts.all else parse_cells(opts.cells)
    except ValueError as e:
        parser.error(str(e))

    commands = {OURS: shlex.split(opts.ours)}
    for peer in peers:
        commands[peer] = [opts.py, os.path.join(HERE, "peers.py"), "--framework", peer]

    print("%-16s %10s %s %-22s RSS MB (%s)" % ("cell", "ours", " ".join("%10s" % p[:10] for p in peers),
                                              "ours / best peer", ", ".join([OURS] + peers)))
    rows, unavailable_workloads = [], {}
    if opts.json_out and os.path.dirname(opts.json_out):
        os.makedirs(os.path.dirname(opts.json_out), exist_ok=True)
    out = open(opts.json_out, "w") if opts.json_out else None
    try:
        for workload, size in cells:
            if workload in unavailable_workloads:  # our binary said so once; no need to ask per size
                medians, rss, problems = {}, {}, {OURS: unavailable_workloads[workload]}
            else:
                medians, rss, problems = measure_cell(workload, size, commands, opts)
            row = cell_row(workload, size, medians, rss, problems)
            if row["unavailable"]:
                unavailable_workloads[workload] = problems[OURS]
            rows.append(row)
            print_row(row, peers)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
    except ContractError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
    finally:
        if out:
            out.close()

    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    print("worst ratio ours / best peer: %s over %d cells; %d unavailable, %d failed" % (
        "%.2f" % max(ratios) if ratios else "-", len(ratios), sum(r["unavailable"] for r in rows),
        sum(OURS in r["problems"] and not r["unavailable"] for r in rows)))
    if any(OURS in r["problems"] and not r["unavailable"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
