#!/usr/bin/env bash
# Search quality on the surrogate landscape: for each strategy, over SEEDS seeds each, the
# evaluations needed to reach the landscape's top 1% (its threshold estimated from REFERENCE
# random samples), the best reward after 200 and 500 evaluations, and the evaluations needed to
# reach random search's best of 300 on the same seed; prints markdown tables of medians over seeds.
#
#   scripts/compare-strategies.sh [extra hpcnas search options, e.g. --rl-lr 0.01]
#
# Environment: SEEDS (10), SEED0 (1, the first seed), BUDGET (500), LANDSCAPE (0), REFERENCE
# (100000), STRATEGIES ("random rl evolution qlearning hybrid"), WORK (a temporary folder; run
# files stay there), REFERENCE_FILE (reuse a random run file of the same landscape instead of
# making one), HPCNAS (the executable).
# Searches run as `mpirun -n 2`: one trainer, so arrival order and each run are reproducible.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

HPCNAS=${HPCNAS:-$HPCNAS_BUILD/hpcnas}
SEEDS=${SEEDS:-10}
SEED0=${SEED0:-1}
BUDGET=${BUDGET:-500}
LANDSCAPE=${LANDSCAPE:-0}
REFERENCE=${REFERENCE:-100000}
STRATEGIES=${STRATEGIES:-"random rl evolution qlearning hybrid"}
WORK=${WORK:-$(mktemp -d -t hpcnas-compare.XXXXXX)}
PYTHON=${PYTHON:-/usr/bin/python3} # the Debian python, which has h5py

[ -x "$HPCNAS" ] || { echo "compare-strategies: no executable at $HPCNAS (build first)" >&2; exit 2; }
mkdir -p "$WORK"

search() { # <ranks> <strategy> <seed> <budget> <out> [options...]
  local ranks=$1 strategy=$2 seed=$3 budget=$4 out=$5
  shift 5
  mpirun -n "$ranks" --oversubscribe "$HPCNAS" search --strategy "$strategy" \
    --evaluator surrogate --surrogate-landscape "$LANDSCAPE" --seed "$seed" --budget "$budget" \
    --out "$out" --overwrite "$@" >"$out.log" 2>&1 ||
    { echo "compare-strategies: search failed, see $out.log" >&2; exit 1; }
}

if [ -z "${REFERENCE_FILE:-}" ]; then
  REFERENCE_FILE=$WORK/reference.h5
  echo "reference: $REFERENCE random samples of landscape $LANDSCAPE (one rank)" >&2
  search 1 random 1000003 "$REFERENCE" "$REFERENCE_FILE"
fi

runs=()
for strategy in $STRATEGIES; do
  echo "$strategy: $SEEDS seeds x $BUDGET evaluations" >&2
  for seed in $(seq "$SEED0" $((SEED0 + SEEDS - 1))); do
    search 2 "$strategy" "$seed" "$BUDGET" "$WORK/$strategy-$seed.h5" "$@"
    runs+=("$WORK/$strategy-$seed.h5")
  done
done

echo "command: SEEDS=$SEEDS SEED0=$SEED0 BUDGET=$BUDGET LANDSCAPE=$LANDSCAPE scripts/compare-strategies.sh $*"
echo
"$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/compare_strategies.py" --reference "$REFERENCE_FILE" \
  --budget "$BUDGET" "${runs[@]}"
echo
echo "run files: $WORK" >&2
