#!/usr/bin/python3
"""Draws the scaling figure of several runs and the per-rank timeline of one run.

Usage: plot_scaling.py [--table SCALING.csv] [--timeline RUN.h5] --out DIR
SCALING.csv is what `hpcnas report --scaling --csv` prints. DIR/scaling.png has two panels
against nodes (or ranks when every run used one node): throughput, with the ideal line that
grows linearly in workers from each kind's smallest run, and parallel efficiency.
DIR/timeline.png shows one search run file (schema 2): a bar per evaluation on the row of the
trainer that ran it, from `started` to `finished`, and on rank 0's row a mark at each result
received and a bar for the time rank 0 then spent on it (strategy step, then the row's append).
"""
import argparse
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLUMNS = ["file", "kind", "ranks", "nodes", "workers", "throughput", "throughput_unit",
           "speedup", "efficiency", "controller_busy", "allreduce_share"]
KINDS = {"search": "tab:blue", "darts": "tab:orange"}


def die(message):
    print(f"plot_scaling.py: {message}", file=sys.stderr)
    sys.exit(2)


def number(text, kind, where):
    if text == "":
        return math.nan
    try:
        return kind(text)
    except ValueError:
        die(f"{where}: '{text}' is not a number")


def read_table(path):
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != COLUMNS:
                die(f"'{path}' has columns {reader.fieldnames}, expected {','.join(COLUMNS)}")
            rows = []
            for line, raw in enumerate(reader, start=2):
                where = f"{path}:{line}"
                if raw["kind"] not in KINDS:
                    die(f"{where}: kind '{raw['kind']}' is neither search nor darts")
                row = {"file": raw["file"], "kind": raw["kind"], "unit": raw["throughput_unit"]}
                for key in ("ranks", "nodes", "workers"):
                    row[key] = number(raw[key], int, where)
                    if not row[key] >= 1:
                        die(f"{where}: {key} must be a positive integer")
                for key in ("throughput", "speedup", "efficiency"):
                    row[key] = number(raw[key], float, where)
                rows.append(row)
    except OSError as error:
        die(f"cannot read '{path}': {error.strerror}")
    if not rows:
        die(f"'{path}' has no rows")
    return rows


def plot_table(rows, out):
    by_nodes = any(r["nodes"] != 1 for r in rows)
    xkey = "nodes" if by_nodes else "ranks"
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(11, 4.2))
    units = set()
    for kind, color in KINDS.items():
        series = sorted((r for r in rows if r["kind"] == kind), key=lambda r: (r[xkey], r["workers"]))
        if not series:
            continue
        unit = series[0]["unit"] or "per second"
        units.add(unit)
        base = min(series, key=lambda r: r["workers"])
        x = np.array([r[xkey] for r in series], dtype=float)
        throughput = np.array([r["throughput"] for r in series])
        ideal = np.array([base["throughput"] * r["workers"] / base["workers"] for r in series])
        efficiency = np.array([r["efficiency"] if not math.isnan(r["efficiency"])
                               else (r["throughput"] / r["workers"]) /
                               (base["throughput"] / base["workers"]) for r in series])
        ax_t.plot(x, throughput, "o-", color=color, label=f"{kind} ({unit})")
        ax_t.plot(x, ideal, "--", color=color, alpha=0.6, label=f"{kind}, ideal (linear in workers)")
        ax_e.plot(x, efficiency, "o-", color=color, label=kind)
    xlabel = "nodes" if by_nodes else "ranks (every run on one node)"
    xs = [r[xkey] for r in rows]
    log_x = max(xs) >= 8 * min(xs)
    for ax in (ax_t, ax_e):
        ax.set_xlabel(xlabel)
        if log_x:
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(set(xs)))
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    ts = [r["throughput"] for r in rows if r["throughput"] > 0]
    if ts and len(ts) == len(rows) and (log_x or max(ts) >= 8 * min(ts)):
        ax_t.set_yscale("log")  # log-log when x is: the ideal line stays straight
        ax_t.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax_t.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax_t.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax_t.set_ylabel(f"throughput ({units.pop()})" if len(units) == 1
                    else "throughput (unit per series, see legend)")
    ax_t.set_title("Throughput")
    ax_e.axhline(1.0, color="gray", lw=0.8)
    ax_e.set_ylim(0, max(1.05, np.nanmax([r["efficiency"] for r in rows] + [0]) * 1.05))
    ax_e.set_ylabel("parallel efficiency")
    ax_e.set_title("Parallel efficiency (relative to the fewest workers)")
    fig.tight_layout()
    path = os.path.join(out, "scaling.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def read_run(path):
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError:
        die(f"cannot open '{path}' as HDF5")
    with f:
        if f.attrs.get("kind", b"") in ("darts", b"darts"):
            die(f"'{path}' is a DARTS run file; the timeline is for search runs")
        if "evaluations" not in f:
            die(f"'{path}' has no /evaluations group")
        g = f["evaluations"]
        missing = [c for c in ("rank", "started", "finished") if c not in g]
        if missing:
            die(f"'{path}' lacks /evaluations/{missing[0]}")
        run = {c: np.asarray(g[c][:], dtype=np.float64) for c in
               ("rank", "started", "finished", "dispatched", "received",
                "rank0_strategy_seconds", "rank0_store_seconds") if c in g}
        ranks = int(f.attrs["ranks"]) if "ranks" in f.attrs else None
        nodes = int(f.attrs["nodes"]) if "nodes" in f.attrs else None
    if len(run["started"]) == 0:
        die(f"'{path}' has no evaluations")
    if ranks is None:
        ranks = int(run["rank"].max()) + 1
    return run, ranks, nodes


def plot_timeline(path, out):
    run, ranks, nodes = read_run(path)
    started, finished, rank = run["started"], run["finished"], run["rank"].astype(int)
    dispatched = run.get("dispatched")
    from_dispatch = dispatched is not None and bool(np.any(dispatched > 0))
    t0 = dispatched[dispatched > 0].min() if from_dispatch else started.min()
    fig, ax = plt.subplots(figsize=(11, min(2.0 + 0.3 * ranks, 20)))
    for r in np.unique(rank):
        mine = rank == r
        spans = list(zip(started[mine] - t0, finished[mine] - started[mine]))
        ax.broken_barh(spans, (r - 0.35, 0.7), facecolors="tab:blue", edgecolors="white",
                       linewidth=0.3)
    if "received" in run and np.any(run["received"] > 0):
        received = run["received"] - t0
        ax.vlines(received, -0.45, 0.45, color="black", linewidth=0.5)
        if "rank0_strategy_seconds" in run and "rank0_store_seconds" in run:
            # A row's own append is timed in the next row's rank0_store_seconds.
            store = np.append(run["rank0_store_seconds"][1:], 0.0)
            busy = run["rank0_strategy_seconds"] + store
            ax.broken_barh(list(zip(received, busy)), (-0.2, 0.4), facecolors="tab:red")
    ax.set_ylim(-0.6, ranks - 0.4)
    ax.set_yticks(range(ranks) if ranks <= 40 else np.linspace(0, ranks - 1, 11).astype(int))
    ax.set_ylabel("rank (0: controller)")
    ax.set_xlabel("seconds since the first dispatch" if from_dispatch
                  else "seconds since the first start")
    ax.invert_yaxis()
    ax.set_title(f"{os.path.basename(path)}: {ranks} rank{'s' * (ranks != 1)}, "
                 f"{nodes if nodes is not None else '?'} node{'s' * (nodes != 1)}, "
                 f"{len(started)} evaluations "
                 "(blue: evaluations; rank 0: black results received, red time spent on them)",
                 fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    target = os.path.join(out, "timeline.png")
    fig.savefig(target, dpi=120)
    plt.close(fig)
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", help="CSV of `hpcnas report --scaling --csv`")
    parser.add_argument("--timeline", help="a search run file (schema 2)")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    args = parser.parse_args()
    if not args.table and not args.timeline:
        die("nothing to draw: give --table, --timeline or both")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as error:
        die(f"cannot create '{args.out}': {error.strerror}")
    if args.table:
        print(plot_table(read_table(args.table), args.out))
    if args.timeline:
        print(plot_timeline(args.timeline, args.out))


if __name__ == "__main__":
    main()
