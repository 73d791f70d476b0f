#!/usr/bin/env bash
# jobs/search-rl.sbatch and jobs/darts.sbatch on a real (one-host) SLURM: each job gets a
# one-minute time limit and SLURM's USR1 35 s ahead of it, so it is signalled, checkpoints,
# requeues itself and resumes until done. The search's run file must end with exactly `budget`
# rows, no id twice, and the same rows as an uninterrupted run; the DARTS run file the same
# epochs, bit for bit, as an uninterrupted 2-rank DARTS search. jobs/pipeline.sh then runs a
# search and the training of its best genotype after it, at tiny sizes, and must end with the
# trained run file and an ONNX model. Needs root (the local SLURM's
# daemons run as root) and the Debian packages slurm-wlm and munge (scripts/test.sh installs them).
# usage: test_slurm.sh HPCNAS MPIEXEC REPOSITORY
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
HPCNAS=$(realpath "$1") # the tests cd into a temporary folder
MPIEXEC=$2
REPOSITORY=$3
WORK=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/local_slurm.sh"
cleanup() {
  [ -n "${job:-}" ] && timeout 10 scancel "$job" 2>/dev/null
  stop_local_slurm
  rm -rf "$WORK"
}
trap cleanup EXIT
start_local_slurm 1

wait_job() {  # wait_job JOB: until SLURM has ended JOB for good (at most 10 minutes); sets state
  state=""
  for _ in $(seq 300); do
    state=$(timeout 10 scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*')
    case $state in JobState=COMPLETED|JobState=FAILED|JobState=CANCELLED|JobState=TIMEOUT|\
                   JobState=NODE_FAIL|JobState=OUT_OF_MEMORY|JobState=BOOT_FAIL|JobState=DEADLINE)
      return ;;
    esac
    sleep 2
  done
}
restarts_of() { timeout 10 scontrol show job -o "$1" 2>/dev/null | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }

# run_requeued_job WHAT SCRIPT LOG: submits SCRIPT (2 tasks) with a one-minute limit and USR1 35 s
# ahead of it, waits for it, and checks that it completed after requeueing itself from a stop by
# that signal. Sets job.
run_requeued_job() {
  local what=$1 script=$2 log=$3 restarts
  job=$(timeout 30 sbatch --parsable --nodes 1 --ntasks 2 --ntasks-per-node 2 --cpus-per-task 1 \
    --time 1 --signal USR1@35 --output "$log" "$script")
  check "sbatch accepts the $what" [ -n "$job" ]
  wait_job "$job"
  restarts=$(restarts_of "$job")
  check "the $what completed ($state)" [ "$state" = JobState=COMPLETED ]
  check "SLURM signalled the $what and it requeued itself (restarts: ${restarts:-none})" \
    [ "${restarts:-0}" -ge 1 ]
  check "the $what log shows a stop by signal" grep -q "^\[hpcnas\] stopped by signal 10" "$log"
}

BUDGET=40
ARGS="--evaluator surrogate --seed 5 --checkpoint-every 5"
# The same search uninterrupted (one trainer: the run is reproducible).
# shellcheck disable=SC2086
timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" search --strategy rl --budget "$BUDGET" \
  --threads 1 $ARGS --out "$WORK/reference.h5" >"$WORK/reference.log" 2>&1
check "uninterrupted reference run" [ "$(rows "$WORK/reference.h5")" -eq "$BUDGET" ]

# The job script as a user submits it (from the repository root), with the settings for a
# one-minute job. sbatch hands the job this environment, requeued runs included.
cd "$REPOSITORY"
export HPCNAS OUT=$WORK/rl.h5 BUDGET HPCNAS_ARGS="$ARGS --surrogate-seconds 1" STOP_MARGIN=35
# Each round runs about 25 s, a requeue restarts after about 16 s, and each job needs two or
# three rounds.
run_requeued_job "search job" jobs/search-rl.sbatch "$WORK/job.out"
check "the requeued job resumed the run file" grep -q "resuming $WORK/rl.h5" "$WORK/job.out"
check "exactly budget rows, no id twice" unique_ids "$WORK/rl.h5" "$BUDGET"
check "the same rows as the uninterrupted run" same_columns "$WORK/reference.h5" "$WORK/rl.h5"
search_job=$job

# DARTS: about 50 s of epochs uninterrupted, so SLURM's signal lands within the first round.
DARTS_ARGS="--dataset synthetic --val-size 200 --train-subset 96 --val-subset 32 --channels 4 \
--layers 3 --batch-size 16 --steps-per-epoch 6 --seed 4"
EPOCHS=30
# shellcheck disable=SC2086
timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" darts --epochs "$EPOCHS" --threads 1 \
  $DARTS_ARGS --out "$WORK/darts-reference.h5" >"$WORK/darts-reference.log" 2>&1
check "uninterrupted DARTS reference run" [ "$(darts_epochs "$WORK/darts-reference.h5")" -eq "$EPOCHS" ]
export OUT=$WORK/darts.h5 EPOCHS HPCNAS_ARGS="$DARTS_ARGS"
run_requeued_job "DARTS job" jobs/darts.sbatch "$WORK/darts-job.out"
check "the same DARTS search as the uninterrupted run" \
  same_darts "$WORK/darts-reference.h5" "$WORK/darts.h5"

# The pipeline: an evolution search on the surrogate, then `hpcnas train` of its best genotype.
export BUDGET=8 SEARCH_ARGS="--evaluator surrogate --dataset synthetic" RUN=$WORK/pipe.h5 \
  FINAL=$WORK/final.h5 MODEL=$WORK/model.onnx POLL=2 \
  TRAIN_ARGS="--dataset synthetic --epochs 2 --steps-per-epoch 4 --channels 4 --layers 3 \
--batch-size 16"
unset OUT EPOCHS HPCNAS_ARGS
timeout 600 jobs/pipeline.sh jobs/search-evolution.sbatch --nodes 1 --ntasks 2 \
  --ntasks-per-node 2 --cpus-per-task 1 --output "$WORK/pipeline-%j.out" >"$WORK/pipeline.log" 2>&1
check "pipeline.sh exits 0" [ $? -eq 0 ]
check "pipeline.sh prints both job ids" [ "$(grep -c -E "^(search|train) job [0-9]+" "$WORK/pipeline.log")" -eq 2 ]
check "pipeline.sh prints where the model is" grep -q "done: ONNX model $WORK/model.onnx" "$WORK/pipeline.log"
$PY - "$WORK/pipe.h5" "$WORK/final.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as s, h5py.File(sys.argv[2], "r") as t:
    e = s["evaluations"]
    assert t.attrs["genotype"] == e["genotype"][int(np.argmax(e["reward"][...]))].decode()
    assert t["epochs/epoch"].shape == (2,) and "test_accuracy" in t.attrs
PY
check "the pipeline trained the search's best genotype and tested it" [ $? -eq 0 ]

if [ "$failed" -ne 0 ]; then
  echo "--- pipeline"; cat "$WORK/pipeline.log" "$WORK"/pipeline-*.out
  echo "--- search job log"; cat "$WORK/job.out"
  echo "--- DARTS job log"; cat "$WORK/darts-job.out"
  echo "--- slurmctld log (jobs $search_job, $job)"
  grep -i -E "signal|requeue|JobId=($search_job|$job) " "$SLURM_DIR/log/slurmctld.log" | tail -n 40
fi
finish
