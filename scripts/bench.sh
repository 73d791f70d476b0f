#!/usr/bin/env bash
# Benchmarks of docs/performance.md, printed as one table (ROWS="a b c c2 d e f" selects rows;
# all by default):
#  (a) one training step of the DARTS_V2 child (batch 64, 1x28x28, 2 threads): hpcnas against
#      the same network and step in PyTorch eager (bench/torch_peer.py), run
#      alternately ROUNDS times in this invocation; the ratio of the medians, and each side's
#      peak resident memory (the largest over the rounds).
#  (b) the pool's worker utilization with 0.2 s surrogate evaluations at 2, 8 and 16 ranks:
#      sum of evaluation times / (trainers x span from the first start to the last finish).
#  (c) one first-order DARTS supernet search step against the PyTorch eager peer; (c2) second
#      order.
#  (d) the median time to write a checkpoint of rl and of evolution state (rank 0's own log).
#  (e) the time from SIGTERM to every rank exited while children train on Fashion-MNIST.
#  (f) one step of hpcnas train's final training (DARTS_V2 C=16 L=8 with its auxiliary head and
#      drop-path 0.2, batch 96 of Fashion-MNIST with crops and flips) against the peer.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PEER=${PEER:-$HPCNAS_ROOT/bench/torch_peer.py}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-10}
ROWS=${ROWS:-a b c c2 d e f}
HPCNAS=$HPCNAS_BUILD/hpcnas
[ -x "$HPCNAS" ] || { echo "bench: build first (scripts/test.sh or scripts/demo.sh)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
row() { [[ " $ROWS " == *" $1 "* ]]; }

echo "| benchmark | hpcnas | reference | result | target |"
echo "| --- | --- | --- | --- | --- |"
largest() { sort -g | tail -1; }

# versus LABEL SPEEDUP OURS... -- PEER...: runs the two commands (each prints median_step_s=X and
# peak_rss_mb=X) alternately ROUNDS times and prints the row with both medians, their ratio and
# each side's peak memory against the target (at least SPEEDUP times faster, at most the peer's
# memory); a target not met points to what was tried for it.
TRIED="docs/performance.md#what-was-tried-for-the-targets"
versus() {
  local label=$1 speedup=$2 side=ours arg line
  local -a ours_cmd=() peer_cmd=() ours=() peer=() ours_mb=() peer_mb=()
  shift 2
  for arg in "$@"; do
    if [ "$arg" = -- ]; then side=peer
    elif [ "$side" = ours ]; then ours_cmd+=("$arg")
    else peer_cmd+=("$arg"); fi
  done
  for _ in $(seq "$ROUNDS"); do
    line=$("${ours_cmd[@]}")
    ours+=("$(field median_step_s <<<"$line")")
    ours_mb+=("$(field peak_rss_mb <<<"$line")")
    line=$("${peer_cmd[@]}")
    peer+=("$(field median_step_s <<<"$line")")
    peer_mb+=("$(field peak_rss_mb <<<"$line")")
  done
  awk -v o="$(printf '%s\n' "${ours[@]}" | median)" -v p="$(printf '%s\n' "${peer[@]}" | median)" \
    -v om="$(printf '%s\n' "${ours_mb[@]}" | largest)" \
    -v pm="$(printf '%s\n' "${peer_mb[@]}" | largest)" \
    -v label="$label" -v speedup="$speedup" -v tried="$TRIED" 'BEGIN {
    met = p / o >= speedup && om <= pm
    printf "| %s | %.4f s, %d MiB peak | %.4f s, %d MiB peak (PyTorch eager) | %.2fx faster, %.2fx the memory: %s | >= %sx, memory <= 1x |\n",
      label, o, om, p, pm, p / o, om / pm, met ? "met" : "not met, what was tried: " tried, speedup }'
}

if row a; then
  versus "(a) child step, DARTS_V2 C=16 L=8, batch 64, 1x28x28, 2 threads" 3 \
    "$HPCNAS" bench --what child --batch-size 64 --input 1x28x28 --threads 2 --steps "$STEPS" -- \
    /usr/bin/python3 "$PEER" --mode child --batch 64 --input 1x28x28 --threads 2 --steps "$STEPS"
fi

if row b; then
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
fi

# supernet_row ORDER LABEL SPEEDUP: one DARTS search step (architecture step, then weight step)
# of the supernet, hpcnas against the peer.
supernet_row() {
  local steps=${SUPERNET_STEPS:-5}
  versus "$2" "$3" \
    "$HPCNAS" bench --what supernet --order "$1" --batch-size 16 --input 3x32x32 --threads 2 \
    --steps "$steps" -- \
    /usr/bin/python3 "$PEER" --mode supernet --order "$1" --batch 16 --input 3x32x32 --threads 2 \
    --steps "$steps"
}
if row c; then
  supernet_row 1 "(c) DARTS search step, first order, supernet C=16 L=8, batch 16, 3x32x32, 2 threads" 5
fi
if row c2; then
  supernet_row 2 "(c2) DARTS search step, second order, supernet C=16 L=8, batch 16, 3x32x32, 2 threads" 4
fi

if row d; then
  # Rank 0 times every checkpoint (state, HDF5 write, fsync, rename) and logs the median.
  for strategy in rl evolution; do
    ms=$(mpirun -n 2 --oversubscribe "$HPCNAS" search --strategy "$strategy" \
      --evaluator surrogate --budget 200 --checkpoint-every 1 --out "$WORK/ckpt-$strategy.h5" |
      sed -n 's/.*checkpoints: \([0-9]*\) written, median \([0-9.]*\) ms.*/\2 ms (\1 checkpoints)/p')
    echo "| (d) checkpoint write, $strategy state, median | $ms | | | < 50 ms |"
  done
fi

if row e; then
  # SIGTERM to every rank, as SLURM delivers it, 20 s into a search whose 2 trainers train
  # DARTS-size children on Fashion-MNIST; the time until mpirun returned, median of ROUNDS.
  times=()
  for round in $(seq "$ROUNDS"); do
    out=$WORK/term$round.h5
    mpirun -n 3 --oversubscribe "$HPCNAS" search --strategy rl --dataset fashion-mnist \
      --train-subset 6000 --channels 16 --layers 8 --epochs 1 --threads 1 --budget 100 \
      --out "$out" >"$WORK/term$round.log" 2>&1 &
    launcher=$!
    sleep 20
    start=$(date +%s%N)
    for p in $(pgrep -f "search .*$out"); do  # the ranks, not mpirun
      [ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$HPCNAS")" ] && kill -TERM "$p"
    done
    wait "$launcher" || { echo "bench: the signalled search did not exit 0" >&2; exit 1; }
    times+=("$((($(date +%s%N) - start) / 1000000))")
  done
  echo "| (e) SIGTERM until every rank exited, 2 trainers training children, median of $ROUNDS" \
    "| $(printf '%s\n' "${times[@]}" | median) ms | | | < 5 s |"
fi

if row f; then
  # The settings of docs/results/fashion-mnist's final training, on one process.
  versus "(f) final-training step, DARTS_V2 C=16 L=8 + auxiliary head + drop-path, batch 96, Fashion-MNIST, 2 threads" 3 \
    "$HPCNAS" bench --what final --batch-size 96 --threads 2 --steps "$STEPS" -- \
    /usr/bin/python3 "$PEER" --mode final --batch 96 --input 1x28x28 --threads 2 --steps "$STEPS"
fi
