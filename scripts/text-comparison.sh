#!/usr/bin/env bash
# The documented text search (docs/results/spamassassin): aging evolution over recurrent cells on
# the SpamAssassin corpus; the spread of validation accuracy over its random start against the
# noise of one cell trained with three seeds; then the best cell, a plain LSTM and a plain GRU of
# the same widths trained the same way and tested on the test split. Prints a markdown table.
#
#   scripts/text-comparison.sh [extra options for every search and train]
#
# Environment: WORK (folder for run files and logs; a temporary one by default), HPCNAS (the
# executable), BUDGET (24 children), EPOCHS (10, of the final trainings).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

HPCNAS=${HPCNAS:-$HPCNAS_BUILD/hpcnas}
BUDGET=${BUDGET:-24}
EPOCHS=${EPOCHS:-10}
WORK=${WORK:-$(mktemp -d -t hpcnas-text.XXXXXX)}
[ -x "$HPCNAS" ] || { echo "text-comparison: no executable at $HPCNAS (build first)" >&2; exit 2; }
[ -d /usr/share/datasets/spamassassin ] ||
  { echo "text-comparison: no corpus (run scripts/install-spamassassin.sh)" >&2; exit 2; }
mkdir -p "$WORK"
run() { mpirun --oversubscribe --bind-to none "$@"; }

# Children and final models alike: 64 tokens per mail, embedding and hidden width 64, SGD at
# the text learning rate, one thread per rank.
COMMON=(--dataset spamassassin --max-tokens 64 --embedding 64 --hidden 64 --threads 1 "$@")
echo "text-comparison: ${COMMON[*]}; run files and logs in $WORK" >&2

# The search: 2 trainers, each child 4 epochs. A search WORK already holds is resumed (a rerun
# after an interruption continues it).
if [ -f "$WORK/search.h5" ]; then
  run -n 3 "$HPCNAS" search --resume "$WORK/search.h5" >>"$WORK/search.log" 2>&1
else
  run -n 3 "$HPCNAS" search "${COMMON[@]}" --strategy evolution --population 8 --sample 4 \
    --epochs 4 --budget "$BUDGET" --seed 1 --out "$WORK/search.h5" >"$WORK/search.log" 2>&1
fi
best=$(/usr/bin/python3 -c "
import h5py, numpy as np, sys
e = h5py.File(sys.argv[1], 'r')['evaluations']
print(e['genotype'].asstr()[int(np.argmax(e['reward'][:]))])" "$WORK/search.h5")

# Noise: the best cell trained as a child is (4 epochs, validation split as the holdout), with
# three seeds.
for seed in 1 2 3; do
  run -n 2 "$HPCNAS" train "${COMMON[@]}" --genotype "$best" --epochs 4 --seed "$seed" \
    --out "$WORK/noise-$seed.h5" --overwrite >"$WORK/noise-$seed.log" 2>&1
done

# The comparison: the same training for the best cell and the two baselines.
run -n 2 "$HPCNAS" train "${COMMON[@]}" --genotype "$best" --epochs "$EPOCHS" \
  --out "$WORK/cell.h5" --overwrite >"$WORK/cell.log" 2>&1
for kind in lstm gru; do
  run -n 2 "$HPCNAS" train "${COMMON[@]}" --baseline "$kind" --epochs "$EPOCHS" \
    --out "$WORK/$kind.h5" --overwrite >"$WORK/$kind.log" 2>&1
done

/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
e = h5py.File(f"{work}/search.h5", "r")["evaluations"]
acc, ids = e["val_accuracy"][:], e["id"][:]
start = acc[ids < 8]  # aging evolution's random start: 8 random cells
noise = [h5py.File(f"{work}/noise-{s}.h5", "r")["epochs/holdout_accuracy"][-1] for s in (1, 2, 3)]
print(f"| search | children | best validation | random start: mean, std (n=8) | same cell, 3 seeds: std |")
print(f"| --- | --- | --- | --- | --- |")
print(f"| evolution | {len(acc)} | {acc.max():.4f} | {start.mean():.4f}, {start.std(ddof=1):.4f} "
      f"| {np.std(noise, ddof=1):.4f} ({', '.join(f'{v:.4f}' for v in noise)}) |")
print()
print("| model | parameters | test accuracy | test loss | seconds |")
print("| --- | --- | --- | --- | --- |")
for name in ("cell", "lstm", "gru"):
    f = h5py.File(f"{work}/{name}.h5", "r")
    epochs = f["epochs"]
    print(f"| {name} | {int(f.attrs['parameters']) if 'parameters' in f.attrs else '?'} "
          f"| {epochs['test_accuracy'][-1]:.4f} | {epochs['test_loss'][-1]:.4f} "
          f"| {epochs['epoch_seconds'][:].sum():.0f} |")
PY
