#!/usr/bin/env bash
# A failure after start-up ends every rank within seconds, for search, darts and train: one line
# naming the rank and the cause, exit 1 (MPI_Abort), never a hang; what was flushed stays, and
# --resume finishes the run. The failures are real: the kernel refuses rank 0's writes.
# - Everywhere: once the first checkpoint exists, the file-size limit of the running ranks is
#   lowered (prlimit) below a checkpoint's size, so the next checkpoint fails (EFBIG); for the
#   search, whose checkpoints are small, the growing run file fails instead.
# - Where mounting is allowed (root): the case seen on a cluster, a search whose run file lies on
#   a 300 KB file system that fills up (ENOSPC); whether the run file or a checkpoint is the
#   write that fails there is chance, so only the end of the job is checked.
# usage: test_faults.sh HPCNAS MPIEXEC
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
HPCNAS=$(realpath "$1") # the tests cd into a temporary folder
MPIEXEC=$2
WORK=$(mktemp -d)
cleanup() {
  pkill -9 -f "$WORK/" 2>/dev/null
  mountpoint -q "$WORK/tiny" 2>/dev/null && umount "$WORK/tiny"
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
mpi() { local n=$1; shift; timeout 600 "$MPIEXEC" -n "$n" --oversubscribe "$HPCNAS" "$@"; }
tiny=(--dataset synthetic --channels 4 --layers 3 --batch-size 16 --threads 1)

# fails_after_checkpoint NAME LIMIT_KB COMMAND ARGS...: runs `hpcnas COMMAND ARGS --out NAME.h5`
# on 3 ranks; once NAME.h5.ckpt exists, lowers the ranks' file-size limit to LIMIT_KB; then
# expects the job to end by itself, within 60 s, with exit 1 and one line from rank 0.
fails_after_checkpoint() {
  local name=$1 limit=$2 command=$3
  shift 3
  "$MPIEXEC" -n 3 --oversubscribe "$HPCNAS" "$command" "$@" --out "$WORK/$name.h5" \
    >"$name.out" 2>"$name.err" &
  local launcher=$! waited=0 p
  until [ -f "$name.h5.ckpt" ] || [ $waited -ge 1200 ]; do sleep 0.1; waited=$((waited + 1)); done
  for p in $(hpcnas_ranks "$HPCNAS" "$command" "$WORK/$name.h5"); do
    prlimit --pid "$p" --fsize=$((limit * 1024))
  done
  local start=$SECONDS
  ( sleep 60; kill -9 "$launcher" ) >/dev/null 2>&1 & # not on the test's output: ctest waits for it
  local watchdog=$!
  wait "$launcher"
  local rc=$?
  kill "$watchdog" 2>/dev/null
  echo "$name: exit $rc, $((SECONDS - start)) s after the limit; stderr:"
  head -3 "$name.err"
  check "$name: a first checkpoint was written" test -f "$name.h5.ckpt"
  check "$name: every rank ends by itself with exit 1" test "$rc" -eq 1
  check "$name: rank 0 names itself and the failed write" \
    grep -q "^hpcnas $command: error on rank 0: .*\(File too large\|errno = 27\)" "$name.err"
}

# search: the run file outgrows the limit (checkpoints are about 13 KB). HDF5 1.10 does not
# write a file in an order that survives a flush cut short: the rows' strings may then lie past
# the file's end, and --resume must say so (exit 2, one line) rather than guess.
fails_after_checkpoint search 150 search --evaluator surrogate --strategy evolution \
  --surrogate-seconds 0.01 --budget 3000
mpi 3 search --resume search.h5 >search-resume.out 2>search-resume.err
rc=$?
if [ $rc -eq 0 ]; then
  check "search: --resume completes the budget, every id once" unique_ids search.h5 3000
else
  head -1 search-resume.err
  check "search: --resume of a damaged run file is exit 2 with one line" \
    test $rc -eq 2 -a "$(grep -c '^hpcnas search: error' search-resume.err)" -eq 1
fi

# search: the checkpoint is what fails (the RL policy's checkpoint, about 550 KB, outgrows the
# limit; the run file, 185 KB at 80 rows, does not); the run file stays whole and --resume
# completes the budget.
fails_after_checkpoint search-ckpt 350 search --evaluator surrogate --strategy rl \
  --surrogate-seconds 0.05 --budget 200 --checkpoint-every 40
check "search-ckpt: the run file stays readable" test "$(rows search-ckpt.h5)" -gt 0
mpi 3 search --resume search-ckpt.h5 >search-ckpt-resume.out 2>&1
check "search-ckpt: --resume completes the budget, every id once" unique_ids search-ckpt.h5 200

# darts: the next epoch's checkpoint (about 630 KB) outgrows the limit.
fails_after_checkpoint darts 300 darts "${tiny[@]}" --val-size 64 --train-subset 128 \
  --epochs 12 --steps-per-epoch 3
check "darts: the run file stays readable" test "$(darts_epochs darts.h5)" -gt 0
mpi 3 darts --resume darts.h5 >darts-resume.out 2>&1
check "darts: --resume completes the epochs" test "$(darts_epochs darts.h5)" -eq 12

# train: the next epoch's checkpoint (about 1 MB) outgrows the limit.
train_epochs() {
  $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['epochs/epoch'].shape[0])" "$1" \
    2>/dev/null || echo 0
}
GENOTYPE="Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0), \
('max_pool_3x3', 1), ('skip_connect', 1), ('dil_conv_3x3', 2), ('skip_connect', 0), \
('sep_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), \
('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), \
('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
fails_after_checkpoint train 400 train "${tiny[@]}" --genotype "$GENOTYPE" --epochs 12 \
  --steps-per-epoch 3
check "train: the run file stays readable" test "$(train_epochs train.h5)" -gt 0
mpi 3 train --resume train.h5 >train-resume.out 2>&1
check "train: --resume completes the epochs and the test" $PY -c "import h5py,sys
f = h5py.File('train.h5', 'r')
sys.exit(0 if f['epochs/epoch'].shape[0] == 12 and 'test_accuracy' in f.attrs else 1)"

# The file system fills up under a search (needs the right to mount a tmpfs).
mkdir tiny
if mount -t tmpfs -o size=300k tmpfs tiny 2>/dev/null; then
  start=$SECONDS
  mpi 3 search --evaluator surrogate --strategy random --budget 5000 --out "$WORK/tiny/full.h5" \
    >full.out 2>full.err
  rc=$?
  echo "full disk: exit $rc after $((SECONDS - start)) s; stderr:"
  head -2 full.err
  check "full disk: every rank ends with exit 1" test "$rc" -eq 1
  check "full disk: one line from rank 0 names the cause" \
    grep -q "^hpcnas search: error on rank 0: .*No space left on device" full.err
else
  echo "full disk: not run (mounting a tmpfs is not allowed here)"
fi
finish
