#!/usr/bin/env bash
# One real Fashion-MNIST search per strategy (random, rl, evolution, qlearning, hybrid), all at
# once on this machine, each `mpirun -n 2 --bind-to none`: one trainer rank with one thread, so
# arrival order and each run are reproducible; --bind-to none, or every mpirun would pin its
# trainer to the same core. Prints a markdown table: strategy, evaluations, wall time, best and median
# validation accuracy, best genotype. Settings: docs/strategies.md's real-data table.
#
#   scripts/real-strategies.sh [extra hpcnas search options]
#
# Environment: BUDGET (60 evaluations per strategy), SEED (1), WORK (a temporary folder; the run
# files stay there), HPCNAS (the executable), STRATEGIES ("random rl evolution qlearning hybrid").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

HPCNAS=${HPCNAS:-$HPCNAS_BUILD/hpcnas}
BUDGET=${BUDGET:-60}
SEED=${SEED:-1}
STRATEGIES=${STRATEGIES:-"random rl evolution qlearning hybrid"}
WORK=${WORK:-$(mktemp -d -t hpcnas-real.XXXXXX)}
[ -x "$HPCNAS" ] || { echo "real-strategies: no executable at $HPCNAS (build first)" >&2; exit 2; }
mkdir -p "$WORK"

SETTINGS=(--dataset fashion-mnist --val-size 10000 --train-subset 6000 --val-subset 2000
  --channels 8 --layers 5 --epochs 1 --batch-size 64 --threads 1 --budget "$BUDGET"
  --seed "$SEED")
echo "real-strategies: ${SETTINGS[*]} $*; run files and logs in $WORK" >&2

pids=()
for strategy in $STRATEGIES; do
  ( start=$(date +%s)
    mpirun -n 2 --oversubscribe --bind-to none "$HPCNAS" search --strategy "$strategy" "${SETTINGS[@]}" "$@" \
      --out "$WORK/$strategy.h5" --overwrite >"$WORK/$strategy.log" 2>&1
    echo $(($(date +%s) - start)) >"$WORK/$strategy.seconds" ) &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" = 0 ] || { echo "real-strategies: a search failed, see $WORK/*.log" >&2; exit 1; }

/usr/bin/python3 - "$WORK" $STRATEGIES <<'PY'
import sys, h5py
work, strategies = sys.argv[1], sys.argv[2:]
print("| strategy | evaluations | wall time | best val. accuracy | median val. accuracy | best genotype |")
print("| --- | --- | --- | --- | --- | --- |")
for s in strategies:
    with h5py.File(f"{work}/{s}.h5", "r") as f:
        acc = f["evaluations/val_accuracy"][:]
        genotypes = f["evaluations/genotype"].asstr()[:]
    seconds = int(open(f"{work}/{s}.seconds").read())
    best = acc.argmax()
    median = sorted(acc)[len(acc) // 2]
    print(f"| {s} | {len(acc)} | {seconds // 60}m{seconds % 60:02d}s | {acc[best]:.4f} | "
          f"{median:.4f} | `{genotypes[best]}` |")
PY
