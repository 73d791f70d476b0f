#!/usr/bin/env bash
# ASHA against full-fidelity random search on the surrogate's learning curves: for each seed,
# random search trains EVALUATIONS children for MAX_EPOCHS each; ASHA (random proposals, rungs
# MIN_EPOCHS * ETA^k up to MAX_EPOCHS, promoted children continuing) runs on the same seed and
# landscape. Prints, per seed and as medians, the epochs ASHA spent until one of its children
# reached random search's best reward at the full fidelity, as a share of random search's
# EVALUATIONS x MAX_EPOCHS (target: a median of at most 1/3).
#
#   scripts/compare-schedulers.sh [extra hpcnas search options]
#
# Environment: SEEDS (10), SEED0 (1), EVALUATIONS (100), MIN_EPOCHS (1), MAX_EPOCHS (27), ETA (3),
# ASHA_BUDGET (600 evaluations, promotions included), LANDSCAPE (0), WORK (a temporary folder;
# run files stay there), HPCNAS (the executable).
# Searches run as `mpirun -n 2`: one trainer, so arrival order and each run are reproducible.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

HPCNAS=${HPCNAS:-$HPCNAS_BUILD/hpcnas}
SEEDS=${SEEDS:-10}
SEED0=${SEED0:-1}
EVALUATIONS=${EVALUATIONS:-100}
MIN_EPOCHS=${MIN_EPOCHS:-1}
MAX_EPOCHS=${MAX_EPOCHS:-27}
ETA=${ETA:-3}
ASHA_BUDGET=${ASHA_BUDGET:-600}
LANDSCAPE=${LANDSCAPE:-0}
WORK=${WORK:-$(mktemp -d -t hpcnas-schedulers.XXXXXX)}
PYTHON=${PYTHON:-/usr/bin/python3} # the Debian python, which has h5py

[ -x "$HPCNAS" ] || { echo "compare-schedulers: no executable at $HPCNAS (build first)" >&2; exit 2; }
mkdir -p "$WORK"

search() { # <seed> <budget> <out> [options...]
  local seed=$1 budget=$2 out=$3
  shift 3
  mpirun -n 2 --oversubscribe "$HPCNAS" search --strategy random --evaluator surrogate \
    --surrogate-landscape "$LANDSCAPE" --seed "$seed" --budget "$budget" --out "$out" \
    --overwrite "$@" >"$out.log" 2>&1 ||
    { echo "compare-schedulers: search failed, see $out.log" >&2; exit 1; }
}

pairs=()
for seed in $(seq "$SEED0" $((SEED0 + SEEDS - 1))); do
  echo "seed $seed: random x $EVALUATIONS at $MAX_EPOCHS epochs, asha x $ASHA_BUDGET" >&2
  search "$seed" "$EVALUATIONS" "$WORK/full-$seed.h5" "$@"
  search "$seed" "$ASHA_BUDGET" "$WORK/asha-$seed.h5" --scheduler asha --min-epochs "$MIN_EPOCHS" \
    --max-epochs "$MAX_EPOCHS" --eta "$ETA" "$@"
  pairs+=("$WORK/full-$seed.h5" "$WORK/asha-$seed.h5")
done

echo "command: SEEDS=$SEEDS SEED0=$SEED0 EVALUATIONS=$EVALUATIONS MIN_EPOCHS=$MIN_EPOCHS" \
  "MAX_EPOCHS=$MAX_EPOCHS ETA=$ETA ASHA_BUDGET=$ASHA_BUDGET LANDSCAPE=$LANDSCAPE" \
  "scripts/compare-schedulers.sh $*"
echo
"$PYTHON" - "$EVALUATIONS" "$MAX_EPOCHS" "${pairs[@]}" <<'PY'
import sys, h5py, numpy as np

evaluations, max_epochs = int(sys.argv[1]), int(sys.argv[2])
full_budget = evaluations * max_epochs
print("| seed | random's best (full fidelity) | ASHA epochs to reach it | share of random's "
      f"{full_budget} | ASHA's best at full fidelity within a third | new children | promotions |")
print("| --- | --- | --- | --- | --- | --- | --- |")
shares = []
for full_path, asha_path in zip(sys.argv[3::2], sys.argv[4::2]):
    seed = full_path.rsplit("-", 1)[1][:-3]
    with h5py.File(full_path, "r") as f:
        target = f["evaluations/reward"][:].max()
    with h5py.File(asha_path, "r") as f:
        e = f["evaluations"]
        ids, reward = e["id"][:], e["reward"][:]
        epochs, continues = e["epochs"][:], e["continues"][:]
    epochs_of = dict(zip(ids, epochs))
    # A promotion trains only the epochs between its rungs: it continues from saved weights.
    spent = np.cumsum([ep - (epochs_of[c] if c >= 0 else 0) for ep, c in zip(epochs, continues)])
    top = epochs == max_epochs
    reached = np.nonzero(top & (reward >= target))[0]
    share = spent[reached[0]] / full_budget if len(reached) else float("inf")
    shares.append(share)
    within = top & (spent <= full_budget / 3)
    best_within = reward[within].max() if within.any() else float("nan")
    print(f"| {seed} | {target:.4f} | {spent[reached[0]] if len(reached) else 'not reached'} | "
          f"{share:.3f} | {best_within:.4f} | {(continues < 0).sum()} | {(continues >= 0).sum()} |")
median = float(np.median(shares))
print()
print(f"median share of random search's epochs: {median:.3f} "
      f"(target at most 0.333: {'met' if median <= 1 / 3 else 'NOT met'})")
PY
echo
echo "run files: $WORK" >&2
