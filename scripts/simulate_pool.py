#!/usr/bin/python3
"""Predicts the pool's parallel efficiency at rank counts beyond what one machine can run.

Usage: simulate_pool.py --calibrate RUN.h5 [--calibrate RUN.h5 ...] [--eval-seconds S]
           [--storage-latency-ms MS] [--strategy-ms MS] [--ranks 64,128,...,16384]
           [--evals-per-trainer 20] [--seed 1] [--csv]
       simulate_pool.py [--calibrate RUN.h5 ...] --check RUN.h5 [RUN.h5 ...] [--csv]

A discrete-event simulation of the controller/trainer pool, calibrated from search run files
(schema 2). The model:
- N ranks are one controller (rank 0) and N-1 trainers. A trainer receives a request, evaluates
  it, sends the result, and waits for the next request.
- Messages take a constant one-way latency each way: out = median(started - dispatched); back =
  median(received - finished) over the rows whose result reached an idle rank 0 (all rows if
  fewer than 5 did). Both include the 20 us - 1 ms polling of the pool and are clamped at 0.
  Trainer and rank 0 clocks are compared directly, which holds for runs on one host.
- Rank 0 is one server taking results FIFO in arrival order. Per result it spends: the strategy
  step (resampled from the measured rank0_strategy_seconds, or --strategy-ms), then the dispatch
  cost (median of next dispatch to the same trainer - received - strategy, clamped at 0), at
  which point the trainer's next request leaves, then the store (median rank0_store_seconds plus
  --storage-latency-ms, e.g. a parallel file system's flush). So a trainer waits for queueing +
  strategy + dispatch, not for the append, but rank 0 stays busy through the append. A result
  that had to queue is received a receive cost after rank 0 frees up (median of that gap over
  the measured rows that queued; 0 if none did); an idle rank 0's receive is in `back`.
- At the start rank 0 proposes the N-1 first requests one after another, each costing a strategy
  sample plus the dispatch cost. With one rank, rank 0 evaluates itself and also waits for the
  store before its next evaluation.
- Evaluation times are resampled from the calibration runs' finished - started, or with
  --eval-seconds S drawn from a lognormal of median S whose log-sigma is that of the calibration
  runs around each run's median (0.1 with fewer than 10 evaluations).
- A run has N-1 x --evals-per-trainer evaluations handed out from one budget, so the end of the
  budget leaves a tail as in a real run. Efficiency = sum of evaluation times / (trainers x span
  from the first start to the last finish), as measured on run files; rank-0 busy = its time
  receiving, in the strategy, dispatching and storing / the span from its first proposal to the
  end of its last append (measured: rank0_strategy + rank0_store seconds / first dispatch to
  last received). Saturation is the first N where rank 0 is busy >= 95% or efficiency < 90%,
  whichever comes first; the output says which.
Not modelled: network contention, stragglers or failures beyond the measured times, checkpoints
other than those inside rank0_store_seconds, clock skew between hosts.

--check simulates each given run at its own rank count and evaluation count with that run's
evaluation times in id order (controller costs from --calibrate, or from the checked runs when
--calibrate is absent) and prints measured against predicted efficiency; it exits 1 when any
prediction is more than 10% (relative) away from the measured value.
"""
import argparse
import heapq
import math
import os
import sys

import h5py
import numpy as np

COLUMNS = ["id", "rank", "started", "finished", "dispatched", "received",
           "rank0_strategy_seconds", "rank0_store_seconds"]


def die(message):
    print(f"simulate_pool.py: {message}", file=sys.stderr)
    sys.exit(2)


def attr_text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def load_run(path):
    try:
        f = h5py.File(path, "r")
    except OSError:
        die(f"cannot open '{path}' as HDF5")
    with f:
        if attr_text(f.attrs.get("kind", "")) == "darts":
            die(f"'{path}' is a DARTS run file, not a search run")
        version = int(f.attrs.get("schema_version", 1))
        if version < 2:
            die(f"'{path}' has schema_version {version}; the controller timings need 2")
        if "evaluations" not in f:
            die(f"'{path}' has no /evaluations group")
        g = f["evaluations"]
        for column in COLUMNS:
            if column not in g:
                die(f"'{path}' lacks /evaluations/{column}")
        run = {c: np.asarray(g[c][:], dtype=np.float64) for c in COLUMNS}
        if "ranks" not in f.attrs:
            die(f"'{path}' has no 'ranks' attribute")
        run["ranks"] = int(f.attrs["ranks"])
    lengths = {len(run[c]) for c in COLUMNS}
    if len(lengths) != 1:
        die(f"'{path}' has /evaluations columns of different lengths")
    if lengths.pop() == 0:
        die(f"'{path}' has no evaluations")
    if run["ranks"] < 1:
        die(f"'{path}' has ranks = {run['ranks']}")
    run["path"] = path
    run["duration"] = np.maximum(run["finished"] - run["started"], 0.0)
    return run


def median_or(values, default):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else default


def measured(run):
    """Efficiency, rank-0 busy fraction and evaluations per hour, as the simulation defines them."""
    trainers = max(run["ranks"] - 1, 1)
    span = run["finished"].max() - run["started"].min()
    efficiency = run["duration"].sum() / (trainers * span) if span > 0 else math.nan
    busy = math.nan
    if np.all(run["dispatched"] > 0) and np.all(run["received"] > 0):
        controller_span = run["received"].max() - run["dispatched"].min()
        spent = run["rank0_strategy_seconds"].sum() + run["rank0_store_seconds"].sum()
        busy = spent / controller_span if controller_span > 0 else math.nan
    per_hour = 3600 * len(run["duration"]) / span if span > 0 else math.nan
    return efficiency, busy, per_hour


def calibrate(runs):
    """Fits the model's constants from the runs (see the module docstring)."""
    out, back, queued_gap, dispatch_gap, strategy, store, log_dev = [], [], [], [], [], [], []
    fallback_back = []
    for run in runs:
        n = len(run["duration"])
        strategy.extend(run["rank0_strategy_seconds"][1:])  # row 0 also holds the first proposals
        store.extend(run["rank0_store_seconds"][1:])
        positive = run["duration"][run["duration"] > 0]
        if len(positive):
            log_dev.extend(np.log(positive) - np.median(np.log(positive)))
        if run["ranks"] == 1 or not np.all(run["dispatched"] > 0):
            continue
        out.extend(run["started"] - run["dispatched"])
        received, finished = run["received"], run["finished"]
        strat, stor = run["rank0_strategy_seconds"], run["rank0_store_seconds"]
        # Rank 0 is free again after a row's strategy step and its append (next row's store).
        free_after_prev = received[:-1] + strat[:-1] + stor[1:]
        idle = finished[1:] >= free_after_prev
        fallback_back.extend(received - finished)
        back.extend((received[1:] - finished[1:])[idle])
        # next dispatch to the same trainer, minus received and the strategy step
        last_row = {}
        for i in range(n):
            r = int(run["rank"][i])
            if r in last_row:
                j = last_row[r]
                dispatch_gap.append(run["dispatched"][i] - received[j] - strat[j])
            last_row[r] = i
        queued = ~idle
        queued_gap.extend((received[1:] - free_after_prev)[queued])
    back_fit = back if len(back) >= 5 else fallback_back
    fit = {
        "out": max(median_or(out, 0.0), 0.0),
        "back": max(median_or(back_fit, 0.0), 0.0),
        "back_rows": len(back) if len(back) >= 5 else -len(fallback_back),
        "dispatch": max(median_or(dispatch_gap, 0.0), 0.0),
        "receive": max(median_or(queued_gap, 0.0), 0.0),
        "strategy": np.asarray([s for s in strategy if np.isfinite(s) and s >= 0] or [0.0]),
        "store": max(median_or(store, 0.0), 0.0),
        "sigma": float(np.std(log_dev)) if len(log_dev) >= 10 else 0.1,
        "durations": np.concatenate([r["duration"] for r in runs]),
    }
    return fit


def simulate(ranks, durations, strategy, fit, store):
    """One run: `durations` in dispatch order, `strategy` per proposal (len(durations) + ranks).
    Returns (efficiency, rank-0 busy fraction, evaluations per hour)."""
    total = len(durations)
    out, back, dispatch, receive = fit["out"], fit["back"], fit["dispatch"], fit["receive"]
    if ranks == 1:  # rank 0 evaluates, then strategy, dispatch and store, in turn
        t, busy = strategy[0] + dispatch, strategy[0] + dispatch
        first_start = t
        for k in range(total):
            t += durations[k]
            cost = strategy[k + 1] + dispatch + store
            busy += cost
            t += cost
        last_finish = t - cost
        span = last_finish - first_start
        efficiency = sum(durations) / span if span > 0 else math.nan
        return efficiency, busy / t, 3600 * total / span if span > 0 else math.nan
    trainers = ranks - 1
    arrivals = []  # (arrival at rank 0, trainer)
    t = 0.0
    sent = 0
    first_start = math.inf
    for trainer in range(min(trainers, total)):
        t += strategy[sent] + dispatch
        start = t + out
        first_start = min(first_start, start)
        arrivals.append((start + durations[sent] + back, trainer))
        sent += 1
    busy = t
    free = t
    heapq.heapify(arrivals)
    last_finish = 0.0
    pop, push = heapq.heappop, heapq.heappush
    proposal = sent
    while arrivals:
        arrival, trainer = pop(arrivals)
        if arrival - back > last_finish:
            last_finish = arrival - back
        if arrival < free + receive:  # queued: received once rank 0 is free, busy meanwhile
            begin, busy_from = free + receive, max(free, arrival)
        else:
            begin = busy_from = arrival
        leave = begin + strategy[proposal] + dispatch
        proposal += 1
        if sent < total:
            push(arrivals, (leave + out + durations[sent] + back, trainer))
            sent += 1
        free = leave + store
        busy += free - busy_from
    span = last_finish - first_start
    efficiency = sum(durations) / (trainers * span) if span > 0 else math.nan
    return efficiency, busy / free, 3600 * total / span if span > 0 else math.nan


def strategy_samples(fit, count, rng, constant_ms):
    if constant_ms is not None:
        return [constant_ms / 1000.0] * count
    return rng.choice(fit["strategy"], size=count).tolist()


def parse_ranks(text):
    parts = [p.strip() for p in text.split(",") if p.strip()]
    values = []
    try:
        for i, part in enumerate(parts):
            if part == "...":
                if len(values) < 2 or i + 1 >= len(parts) or values[-1] % values[-2]:
                    die(f"--ranks '{text}': '...' needs a,b,...,z with b a multiple of a")
                ratio, stop = values[-1] // values[-2], int(parts[i + 1])
                if ratio < 2:
                    die(f"--ranks '{text}': '...' needs b > a")
                while values[-1] * ratio < stop:
                    values.append(values[-1] * ratio)
            else:
                values.append(int(part))
    except ValueError:
        die(f"--ranks '{text}' is not a comma-separated list of integers")
    if not values or min(values) < 2:
        die(f"--ranks '{text}': every rank count must be >= 2 (a controller and a trainer)")
    return values


def print_table(header, rows, as_csv):
    if as_csv:
        print(",".join(header))
        for row in rows:
            print(",".join(row))
    else:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")


def describe(fit, args, stream):
    strategy = (f"{args.strategy_ms:g} ms (given)" if args.strategy_ms is not None else
                f"median {1e3 * np.median(fit['strategy']):.3f} ms of {len(fit['strategy'])} "
                "measured (resampled)")
    back_from = (f"{fit['back_rows']} rows reaching an idle rank 0" if fit["back_rows"] > 0
                 else f"all {-fit['back_rows']} rows")
    durations = (f"lognormal, median {args.eval_seconds:g} s, log-sigma {fit['sigma']:.3f}"
                 if args.eval_seconds else
                 f"resampled from {len(fit['durations'])} measured "
                 f"(median {np.median(fit['durations']):.4g} s)")
    print(f"Calibration: latency out {1e6 * fit['out']:.0f} us, back {1e6 * fit['back']:.0f} us "
          f"({back_from}); strategy {strategy}; dispatch {1e6 * fit['dispatch']:.0f} us; "
          f"store {1e3 * fit['store']:.3f} ms + {args.storage_latency_ms} ms; "
          f"receive when queued {1e6 * fit['receive']:.0f} us; evaluations {durations}.",
          file=stream)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="append", default=[], metavar="RUN.h5")
    parser.add_argument("--check", nargs="+", default=[], metavar="RUN.h5")
    parser.add_argument("--eval-seconds", type=float)
    parser.add_argument("--storage-latency-ms", default="0",
                        help="added to each HDF5 append; a comma list gives one series each")
    parser.add_argument("--strategy-ms", type=float,
                        help="a constant strategy step instead of the measured ones")
    parser.add_argument("--ranks", default="64,128,...,16384")
    parser.add_argument("--evals-per-trainer", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", action="store_true")
    parser.add_argument("--plot", metavar="PNG",
                        help="also draw the predicted efficiency and rank-0 busy against ranks")
    args = parser.parse_args()
    if not args.calibrate and not args.check:
        die("give at least one --calibrate RUN.h5 (or --check RUN.h5)")
    if args.eval_seconds is not None and not args.eval_seconds > 0:
        die("--eval-seconds must be > 0")
    try:
        latencies = [float(v) for v in args.storage_latency_ms.split(",")]
    except ValueError:
        die(f"--storage-latency-ms must be numbers separated by commas, not "
            f"'{args.storage_latency_ms}'")
    if not all(v >= 0 for v in latencies):
        die("--storage-latency-ms must be >= 0")
    if args.strategy_ms is not None and not args.strategy_ms >= 0:
        die("--strategy-ms must be >= 0")
    if args.evals_per_trainer < 1:
        die("--evals-per-trainer must be >= 1")
    ranks_list = parse_ranks(args.ranks)

    checked = [load_run(p) for p in args.check]
    fit = calibrate([load_run(p) for p in args.calibrate] if args.calibrate else checked)
    store = fit["store"] + latencies[0] / 1000.0
    describe(fit, args, sys.stderr if args.csv else sys.stdout)
    if not args.csv:
        print()

    if checked:
        header = ["run", "ranks", "evaluations", "measured efficiency", "predicted efficiency",
                  "relative difference", "measured rank-0 busy", "predicted rank-0 busy"]
        rows, failed = [], []
        for run in checked:
            rng = np.random.default_rng(args.seed)
            order = np.argsort(run["id"], kind="stable")
            durations = run["duration"][order].tolist()
            strategy = strategy_samples(fit, len(durations) + run["ranks"], rng, args.strategy_ms)
            eff, busy, _ = simulate(run["ranks"], durations, strategy, fit, store)
            m_eff, m_busy, _ = measured(run)
            diff = (eff - m_eff) / m_eff if m_eff > 0 else math.inf
            if not abs(diff) <= 0.10:
                failed.append(os.path.basename(run["path"]))
            rows.append([os.path.basename(run["path"]), str(run["ranks"]), str(len(durations)),
                         f"{m_eff:.4f}", f"{eff:.4f}", f"{100 * diff:+.1f}%",
                         f"{m_busy:.4f}", f"{busy:.4f}"])
        print_table(header, rows, args.csv)
        if failed:
            print(f"simulate_pool.py: prediction off by more than 10% for {', '.join(failed)}",
                  file=sys.stderr)
            sys.exit(1)
        return

    header = ["storage latency (ms)", "ranks", "trainers", "evaluations", "efficiency",
              "evaluations per hour", "rank-0 busy"]
    rows, series = [], {}
    where = sys.stderr if args.csv else sys.stdout
    saturations = []
    for latency in latencies:
        store = fit["store"] + latency / 1000.0
        saturation = None
        for ranks in ranks_list:
            rng = np.random.default_rng([args.seed, ranks])
            total = (ranks - 1) * args.evals_per_trainer
            if args.eval_seconds:
                durations = (args.eval_seconds * np.exp(fit["sigma"] * rng.standard_normal(total)))
            else:
                durations = rng.choice(fit["durations"], size=total)
            strategy = strategy_samples(fit, total + ranks, rng, args.strategy_ms)
            eff, busy, per_hour = simulate(ranks, durations.tolist(), strategy, fit, store)
            rows.append([f"{latency:g}", str(ranks), str(ranks - 1), str(total), f"{eff:.4f}",
                         f"{per_hour:.1f}", f"{busy:.4f}"])
            series.setdefault(latency, []).append((ranks, eff, busy))
            if saturation is None and (busy >= 0.95 or eff < 0.9):
                why = [w for w, hit in (("rank-0 busy >= 95%", busy >= 0.95),
                                        ("efficiency < 90%", eff < 0.9)) if hit]
                saturation = (ranks, " and ".join(why))
        if saturation:
            saturations.append(f"Saturation with {latency:g} ms storage latency: at "
                               f"{saturation[0]} ranks ({saturation[1]}).")
        else:
            saturations.append(f"Saturation with {latency:g} ms storage latency: not reached up "
                               f"to {ranks_list[-1]} ranks (rank-0 busy < 95% and efficiency "
                               ">= 90% throughout).")
    print_table(header, rows, args.csv)
    if not args.csv:
        print()
    for line in saturations:
        print(line, file=where)
    if args.plot:
        plot(series, args, args.plot)
        print(f"simulate_pool.py: wrote {args.plot}", file=where)


def plot(series, args, path):
    """Predicted efficiency and rank-0 busy fraction against ranks, labelled as simulated."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    evaluation = (f"{args.eval_seconds:g} s evaluations (lognormal)" if args.eval_seconds
                  else "measured evaluation times")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for latency, points in series.items():
        ranks = [p[0] for p in points]
        axes[0].plot(ranks, [p[1] for p in points], marker="o",
                     label=f"+{latency:g} ms per HDF5 append")
        axes[1].plot(ranks, [p[2] for p in points], marker="o",
                     label=f"+{latency:g} ms per HDF5 append")
    for ax, name in zip(axes, ("parallel efficiency", "rank-0 busy fraction")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks")
        ax.set_ylabel(name)
        ax.set_ylim(0, 1.05)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"SIMULATED pool, {evaluation}, rank-0 costs calibrated from measured runs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
