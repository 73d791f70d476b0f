#!/usr/bin/python3
"""Summarises surrogate runs of several strategies as a markdown table.

Usage: compare_strategies.py --reference REF.h5 --budget B RUN.h5...
REF.h5 is a random-search run whose rewards estimate the landscape's top 1% (the 99th
percentile). Each RUN.h5 is named <strategy>-<seed>.h5. Rows of /evaluations are in arrival
order, so "evaluations to the top 1%" is the 1-based row of the first reward at or above the
threshold; a run that never gets there counts as more than its budget. With random runs among
them, a second table gives, per seed K, the evaluations each other strategy needed to reach the
best reward of random-K's first BAR_WINDOW (300) evaluations, against the bar of a median of at
most BAR_LIMIT (150).
"""
import argparse
import math
import os
import re
import statistics
import sys

import h5py
import numpy as np


ORDER = ["random", "rl", "evolution", "qlearning", "hybrid"]  # table rows


def rewards_of(path):
    with h5py.File(path, "r") as f:
        return np.asarray(f["evaluations/reward"][:], dtype=np.float64)


def median(values):
    finite = sorted(values)
    return statistics.median(finite) if finite else math.nan


def fmt_evals(value, budget):
    return f"> {budget}" if math.isinf(value) else f"{value:g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--checkpoints", default="200,500")
    parser.add_argument("--bar-window", type=int, default=300)
    parser.add_argument("--bar-limit", type=float, default=150)
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    checkpoints = [int(c) for c in args.checkpoints.split(",") if c]

    reference = rewards_of(args.reference)
    threshold = float(np.quantile(reference, 0.99))
    print(f"Top 1% threshold: surrogate reward >= {threshold:.4f} (99th percentile of "
          f"{len(reference)} random samples; best of them {reference.max():.4f})\n")

    by_strategy = {}
    rewards_by_run = {}
    for path in args.runs:
        match = re.fullmatch(r"(.+)-(\d+)\.h5", os.path.basename(path))
        if not match:
            sys.exit(f"compare_strategies.py: '{path}' is not named <strategy>-<seed>.h5")
        rewards = rewards_of(path)
        if len(rewards) < args.budget:
            sys.exit(f"compare_strategies.py: '{path}' has {len(rewards)} rows, "
                     f"expected {args.budget}")
        rewards_by_run[(match.group(1), int(match.group(2)))] = rewards
        hits = np.nonzero(rewards >= threshold)[0]
        to_top = float(hits[0] + 1) if len(hits) else math.inf
        best = {c: float(rewards[:c].max()) for c in checkpoints if c <= len(rewards)}
        by_strategy.setdefault(match.group(1), []).append((int(match.group(2)), to_top, best))

    header = ["strategy", "seeds", "evaluations to top 1% (median)", "min-max", "reached"]
    header += [f"best after {c} (median)" for c in checkpoints]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    medians = {}
    for name in sorted(by_strategy, key=lambda n: (ORDER.index(n) if n in ORDER else 99, n)):
        runs = sorted(by_strategy[name])
        to_top = [r[1] for r in runs]
        medians[name] = median(to_top)
        reached = sum(not math.isinf(v) for v in to_top)
        row = [name, str(len(runs)), fmt_evals(medians[name], args.budget),
               f"{fmt_evals(min(to_top), args.budget)}-{fmt_evals(max(to_top), args.budget)}",
               f"{reached}/{len(runs)}"]
        for c in checkpoints:
            values = [r[2][c] for r in runs if c in r[2]]
            row.append(f"{median(values):.4f}" if values else "-")
        print("| " + " | ".join(row) + " |")

    if "random" in medians:
        print()
        limit = medians["random"] / 2
        for name, value in medians.items():
            if name == "random":
                continue
            verdict = "met" if value <= limit else "NOT met"
            print(f"Target for {name} (median <= half of random's, {limit:g}): {verdict} "
                  f"({fmt_evals(value, args.budget)} evaluations)")
    print("\nPer seed, evaluations to the top 1%:")
    for name, runs in by_strategy.items():
        print(f"  {name}: " + " ".join(fmt_evals(r[1], args.budget) for r in sorted(runs)))
    print_bar(rewards_by_run, args.bar_window, args.bar_limit, args.budget)


def print_bar(rewards_by_run, window, limit, budget):
    """Per seed, the evaluations to reach random's best of its first `window`."""
    random_best = {seed: float(r[:window].max()) for (name, seed), r in rewards_by_run.items()
                   if name == "random" and len(r) >= window}
    if not random_best:
        return
    print(f"\nEvaluations to reach random search's best of {window} (same seed), "
          f"bar: median at most {limit:g}:\n")
    print("| strategy | seeds | median | per seed | bar |")
    print("|---|---|---|---|---|")
    names = sorted({name for name, _ in rewards_by_run if name != "random"},
                   key=lambda n: (ORDER.index(n) if n in ORDER else 99, n))
    for name in names:
        per_seed = []
        for (other, seed), rewards in sorted(rewards_by_run.items()):
            if other != name or seed not in random_best:
                continue
            hits = np.nonzero(rewards >= random_best[seed])[0]
            per_seed.append(float(hits[0] + 1) if len(hits) else math.inf)
        if not per_seed:
            continue
        value = median(per_seed)
        verdict = "met" if value <= limit else "NOT met"
        print(f"| {name} | {len(per_seed)} | {fmt_evals(value, budget)} | "
              + " ".join(fmt_evals(v, budget) for v in per_seed) + f" | {verdict} |")


if __name__ == "__main__":
    main()
