#!/usr/bin/env bash
# Self-check of plot_scaling.py and simulate_pool.py on synthetic run files (schema 2), made
# here by a pool written independently of the simulator: 1, 2, 4 and 8 ranks, 20 evaluations
# of about 0.2 s per trainer, rank 0 costs under 1 ms. Checks that both PNGs are written, that
# --check reproduces the runs' efficiency within 10% (and fails when the model is told a 50 ms
# store), that 16,384 ranks saturate rank 0 with 0.2 s evaluations and a 1 ms strategy step but
# not with 300 s evaluations, and that bad input exits 2. Exits non-zero on any failure.
set -euo pipefail
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3} # the Debian python, which has h5py and matplotlib
WORK=$(mktemp -d -t hpcnas-scaling-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

"$PYTHON" - "$WORK" <<'PY'
import sys
import h5py
import numpy as np

work = sys.argv[1]
rng = np.random.default_rng(7)
T0 = 1.7e9


def pool(ranks, per_trainer=20):
    """Rank 0 takes the earliest waiting result, runs the strategy, dispatches, then appends."""
    us = 1e-6
    rows = []
    if ranks == 1:
        now = T0 + rng.uniform(200, 600) * us
        owed = now - T0
        prev_append = 0.0
        for k in range(per_trainer):
            dispatched = now
            started = now + 5 * us
            finished = started + 0.2 * np.exp(0.05 * rng.standard_normal())
            received = finished + 5 * us
            strategy = rng.uniform(200, 600) * us
            rows.append((k, 0, started, finished, dispatched, received, strategy + owed,
                         prev_append))
            owed = 0.0
            prev_append = rng.uniform(100, 300) * us
            now = received + strategy + prev_append
        return rows
    trainers = ranks - 1
    total = trainers * per_trainer
    now, owed, sent = T0, 0.0, 0
    running = {}  # trainer -> (id, dispatched, started, finished, arrival)

    def send(trainer):
        nonlocal now, sent
        now += 10 * us
        started = now + rng.uniform(100, 300) * us
        finished = started + 0.2 * np.exp(0.05 * rng.standard_normal())
        running[trainer] = (sent, now, started, finished, finished + rng.uniform(100, 300) * us)
        sent += 1

    for trainer in range(1, ranks):
        cost = rng.uniform(200, 600) * us
        now += cost
        owed += cost
        send(trainer)
    prev_append = 0.0
    while running:
        trainer = min(running, key=lambda r: running[r][4])
        ident, dispatched, started, finished, arrival = running.pop(trainer)
        received = arrival if arrival >= now else now + 20 * us
        strategy = rng.uniform(200, 600) * us
        now = received + strategy
        if sent < total:
            send(trainer)
        rows.append((ident, trainer, started, finished, dispatched, received, strategy + owed,
                     prev_append))
        owed = 0.0
        prev_append = rng.uniform(100, 300) * us
        now += prev_append
    return rows


for ranks in (1, 2, 4, 8):
    rows = pool(ranks)
    cols = list(zip(*rows))
    with h5py.File(f"{work}/pool{ranks}.h5", "w") as f:
        f.attrs["schema_version"] = 2
        f.attrs["ranks"] = ranks
        f.attrs["nodes"] = 1
        for key, value in (("strategy", "random"), ("evaluator", "surrogate"),
                           ("surrogate-seconds", "0.2"), ("budget", str(len(rows)))):
            f.attrs[f"config.{key}"] = value
        g = f.create_group("evaluations")
        g["id"] = np.asarray(cols[0], dtype=np.int64)
        g["rank"] = np.asarray(cols[1], dtype=np.int32)
        g.create_dataset("status", data=["ok"] * len(rows), dtype=h5py.string_dtype())
        g["reward"] = rng.uniform(0, 1, len(rows))
        for i, name in enumerate(["started", "finished", "dispatched", "received",
                                  "rank0_strategy_seconds", "rank0_store_seconds"], start=2):
            g[name] = np.asarray(cols[i], dtype=np.float64)

with h5py.File(f"{work}/old.h5", "w") as f:  # schema 1: no controller timings
    f.attrs["ranks"] = 2
    g = f.create_group("evaluations")
    for name in ("id", "rank", "started", "finished"):
        g[name] = np.zeros(3)

header = ("file,kind,ranks,nodes,workers,throughput,throughput_unit,speedup,efficiency,"
          "controller_busy,allreduce_share\n")
with open(f"{work}/scaling.csv", "w") as f:
    f.write(header)
    for ranks, throughput in ((2, 17900), (4, 53500), (8, 124000)):
        w = ranks - 1
        f.write(f"pool{ranks}.h5,search,{ranks},1,{w},{throughput},evaluations/h,"
                f"{throughput / 17900:.3f},{throughput / 17900 / w:.3f},0.01,\n")
    for ranks, steps in ((1, 4.0), (2, 7.6), (4, 14.0)):
        f.write(f"darts{ranks}.h5,darts,{ranks},1,{ranks},{steps},steps/s,{steps / 4:.3f},"
                f"{steps / 4 / ranks:.3f},,{0.02 * ranks}\n")
with open(f"{work}/nodes.csv", "w") as f:  # several nodes: x axis in nodes
    f.write(header)
    for nodes, throughput in ((1, 1000), (2, 1950), (4, 3700), (8, 6400)):
        f.write(f"n{nodes}.h5,search,{16 * nodes},{nodes},{16 * nodes - 1},{throughput},"
                f"evaluations/h,,,0.1,\n")
with open(f"{work}/bad.csv", "w") as f:
    f.write("file,kind,ranks\npool2.h5,search,2\n")
PY

# plot_scaling.py
if "$PYTHON" "$SCRIPTS/plot_scaling.py" --table "$WORK/scaling.csv" --timeline "$WORK/pool8.h5" \
  --out "$WORK/fig"; then
  for png in scaling timeline; do
    if [ -s "$WORK/fig/$png.png" ] && [ "$(head -c 4 "$WORK/fig/$png.png" | tail -c 3)" = PNG ]; then
      pass "$png.png written"
    else fail "$png.png missing or empty"; fi
  done
else fail "plot_scaling.py exited non-zero"; fi
"$PYTHON" "$SCRIPTS/plot_scaling.py" --table "$WORK/nodes.csv" --timeline "$WORK/pool1.h5" \
  --out "$WORK/fig2" >/dev/null && [ -s "$WORK/fig2/scaling.png" ] && [ -s "$WORK/fig2/timeline.png" ] &&
  pass "plots of several nodes and of a one-rank run" || fail "plots of several nodes or one rank"

# expect_exit CODE DESCRIPTION COMMAND...
expect_exit() {
  local want=$1 what=$2 rc=0
  shift 2
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [ "$rc" = "$want" ]; then pass "$what (exit $rc$([ -s "$WORK/err" ] && echo ": $(head -1 "$WORK/err")"))"
  else fail "$what: exit $rc, expected $want"; cat "$WORK/out" "$WORK/err" >&2; fi
}
expect_exit 2 "plot_scaling.py rejects a table with other columns" \
  "$PYTHON" "$SCRIPTS/plot_scaling.py" --table "$WORK/bad.csv" --out "$WORK/fig3"
expect_exit 2 "simulate_pool.py rejects a schema 1 run file" \
  "$PYTHON" "$SCRIPTS/simulate_pool.py" --calibrate "$WORK/old.h5"
expect_exit 2 "simulate_pool.py rejects --ranks 1" \
  "$PYTHON" "$SCRIPTS/simulate_pool.py" --calibrate "$WORK/pool2.h5" --ranks 1

# simulate_pool.py --check: the model reproduces the synthetic runs, and notices a wrong model.
runs=("$WORK"/pool1.h5 "$WORK"/pool2.h5 "$WORK"/pool4.h5 "$WORK"/pool8.h5)
expect_exit 0 "--check within 10% on 1, 2, 4 and 8 ranks" \
  "$PYTHON" "$SCRIPTS/simulate_pool.py" --check "${runs[@]}"
sed 's/^/    /' "$WORK/out"
expect_exit 1 "--check fails when told of a 50 ms store the runs did not have" \
  "$PYTHON" "$SCRIPTS/simulate_pool.py" --check "$WORK/pool8.h5" --storage-latency-ms 50

# predict ROW-FILTER OPTIONS...: prints "efficiency busy" of the 16,384-rank row of the CSV.
predict() {
  "$PYTHON" "$SCRIPTS/simulate_pool.py" "${calibrate[@]}" --ranks 16384 --strategy-ms 1 --csv "$@" \
    2>"$WORK/err" | awk -F, '$2 == 16384 {print $5, $7}'
}
calibrate=(--calibrate "$WORK/pool2.h5" --calibrate "$WORK/pool4.h5" --calibrate "$WORK/pool8.h5")
read -r eff busy < <(predict)
if awk -v e="$eff" -v b="$busy" 'BEGIN {exit !(e < 0.2 && b >= 0.95)}'; then
  pass "16384 ranks, 0.2 s evaluations, 1 ms strategy: efficiency $eff, rank-0 busy $busy ($(tail -1 "$WORK/err"))"
else fail "16384 ranks with 0.2 s evaluations should saturate: efficiency '$eff', busy '$busy'"; fi
read -r eff busy < <(predict --eval-seconds 300)
if awk -v e="$eff" -v b="$busy" 'BEGIN {exit !(e >= 0.85 && b < 0.5)}'; then
  pass "16384 ranks, 300 s evaluations, 1 ms strategy: efficiency $eff, rank-0 busy $busy ($(tail -1 "$WORK/err"))"
else fail "16384 ranks with 300 s evaluations should stay efficient: efficiency '$eff', busy '$busy'"; fi

if [ "$failures" -gt 0 ]; then
  echo "test_scaling_scripts: $failures check(s) failed" >&2
  exit 1
fi
echo "test_scaling_scripts: all checks passed"
