#!/usr/bin/env bash
# Benchmarks of README, printed as one table:
#  (a) one training step of the DARTS_V2 child (batch 64, 1x28x28, 2 threads): hpcnas against
#      the same network and step in PyTorch eager (../shared/bench/torch_peer.py), run
#      alternately ROUNDS times in this invocation; the ratio of the medians.
#  (c) below: one first-order DARTS supernet search step against the PyTorch eager peer.
#  (b) the pool's worker utilization with 0.2 s surrogate evaluations at 2, 8 and 16 ranks:
#      sum of evaluation times / (trainers x span from the first start to the last finish).
set -euo pipefail
source "$(dirname "$0")/env.sh"
PEER=${PEER:-$HPCNAS_ROOT/../shared/bench/torch_peer.py}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-10}
HPCNAS=$HPCNAS_BUILD/hpcnas
[ -x "$HPCNAS" ] || { echo "bench: build first (scripts/test.sh or scripts/demo.sh)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

ours=() peer=()
for _ in $(seq "$ROUNDS"); do
  ours+=("$("$HPCNAS" bench --what child --batch-size 64 --input 1x28x28 --threads 2 \
    --steps "$STEPS" | field median_step_s)")
  peer+=("$(/usr/bin/python3 "$PEER" --mode child --batch 64 --input 1x28x28 --threads 2 \
    --steps "$STEPS" | field median_step_s)")
done
ours_median=$(printf '%s\n' "${ours[@]}" | median)
peer_median=$(printf '%s\n' "${peer[@]}" | median)

echo "| benchmark | hpcnas | reference | result | target |"
echo "| --- | --- | --- | --- | --- |"
awk -v o="$ours_median" -v p="$peer_median" 'BEGIN {
  printf "| (a) child step, DARTS_V2 C=16 L=8, batch 64, 1x28x28, 2 threads | %.4f s | %.4f s (PyTorch eager) | %.2fx faster | >= 1.5x |\n", o, p, p / o }'

# (c) one first-order DARTS search step (architecture step, then weight step) of the supernet,
#     C=16, 8 layers, batch 16, 3x32x32, 2 threads, against the same step in PyTorch eager.
ours=() peer=()
for _ in $(seq "$ROUNDS"); do
  ours+=("$("$HPCNAS" bench --what supernet --order 1 --batch-size 16 --input 3x32x32 \
    --threads 2 --steps "${SUPERNET_STEPS:-5}" | field median_step_s)")
  peer+=("$(/usr/bin/python3 "$PEER" --mode supernet --batch 16 --input 3x32x32 --threads 2 \
    --steps "${SUPERNET_STEPS:-5}" | field median_step_s)")
done
ours_median=$(printf '%s\n' "${ours[@]}" | median)
peer_median=$(printf '%s\n' "${peer[@]}" | median)
awk -v o="$ours_median" -v p="$peer_median" 'BEGIN {
  printf "| (c) DARTS search step, first order, supernet C=16 L=8, batch 16, 3x32x32, 2 threads | %.4f s | %.4f s (PyTorch eager) | %.2fx faster | >= 3x |\n", o, p, p / o }'

for ranks in 2 8 16; do
  trainers=$((ranks - 1))
  budget=$((trainers * 20))
  mpirun -n "$ranks" --oversubscribe "$HPCNAS" search --evaluator surrogate \
    --surrogate-seconds 0.2 --budget "$budget" --out "$WORK/pool$ranks.h5" >/dev/null
  /usr/bin/python3 - "$WORK/pool$ranks.h5" "$ranks" "$trainers" <<'PY'
import sys, h5py
path, ranks, trainers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with h5py.File(path, "r") as f:
    s, e = f["evaluations/started"][:], f["evaluations/finished"][:]
util = (e - s).sum() / (trainers * (e.max() - s.min()))
print(f"| (b) pool utilization, 0.2 s surrogate evaluations, {ranks} ranks, {len(s)} evaluations "
      f"| {100 * util:.1f} % | | | >= 97 % |")
PY
done
