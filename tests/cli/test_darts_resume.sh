#!/usr/bin/env bash
# Checkpoints and resume of `hpcnas darts` at 2 ranks, as a user meets them: a search stopped by
# SIGTERM within an epoch, and one killed with -9, both resumed, must write the same alpha
# history, genotypes and validation losses, bit for bit, as an uninterrupted search; a finished
# search resumes to nothing; bad resumes exit 2 with one line.
# usage: test_darts_resume.sh HPCNAS MPIEXEC
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
enter_scratch "$1" "$2"
EPOCHS=4
darts() { timeout 600 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" darts "$@"; }
args=(--dataset synthetic --val-size 200 --train-subset 96 --val-subset 32 --channels 4
      --layers 3 --batch-size 16 --epochs "$EPOCHS" --steps-per-epoch 6 --threads 1 --seed 4)
ranks_of() { hpcnas_ranks "$HPCNAS" darts "$1"; }
epochs() { darts_epochs "$1"; }
wait_epochs() {  # wait_epochs FILE N: until FILE has N epochs (at most 120 s)
  for _ in $(seq 1200); do [ "$(epochs "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }

darts "${args[@]}" --out full.h5 >full.log 2>&1
check "uninterrupted search exits 0" [ $? -eq 0 ]
check "uninterrupted search has $EPOCHS epochs" [ "$(epochs full.h5)" -eq "$EPOCHS" ]

# SIGTERM to every rank in the second epoch, as SLURM does; then resume.
darts "${args[@]}" --out term.h5 >term.log 2>&1 &
launcher=$!
wait_epochs term.h5 1
# Twice at once, as at SLURM's time limit (its step daemon and srun each send one): one stop.
pids=$(ranks_of term.h5)
kill -TERM $pids; kill -TERM $pids
wait $launcher
code=$?
check "SIGTERM exits 0 (got $code)" [ "$code" -eq 0 ]
check "SIGTERM stopped before the last epoch" [ "$(epochs term.h5)" -lt "$EPOCHS" ]
check "SIGTERM says how to resume" grep -q -- "darts --resume term.h5" term.log
darts --resume term.h5 >resume-term.log 2>&1
check "resume after SIGTERM exits 0" [ $? -eq 0 ]
check "resume after SIGTERM says where it continues" grep -q "resumed term.h5: checkpoint" resume-term.log
check "SIGTERM + resume equals the uninterrupted search" same_darts full.h5 term.h5

# kill -9 of every rank: the last checkpoint (here also every 0.3 s within an epoch) is all there
# is; epochs recorded after it are computed again.
darts "${args[@]}" --checkpoint-seconds 0.3 --out kill.h5 >/dev/null 2>&1 &
launcher=$!
wait_epochs kill.h5 2
kill -9 $(ranks_of kill.h5)
wait $launcher
check "killed before the last epoch" [ "$(epochs kill.h5)" -lt "$EPOCHS" ]
darts --resume kill.h5 --checkpoint-seconds 0.3 >resume-kill.log 2>&1
check "resume after kill -9 exits 0" [ $? -eq 0 ]
check "kill -9 + resume equals the uninterrupted search" same_darts full.h5 kill.h5

# A finished search resumes to nothing.
darts --resume full.h5 >out.txt 2>&1
check "resume of a finished search exits 0" [ $? -eq 0 ]
check "resume of a finished search adds no epoch" [ "$(epochs full.h5)" -eq "$EPOCHS" ]

# Bad resumes: one line, exit 2.
darts --resume full.h5 --seed 9 >out.txt 2>err.txt
check "resume with another seed exits 2" [ $? -eq 2 ]
check "resume with another seed: one line naming --seed" \
  [ "$(grep -c '^hpcnas darts: error: .*--seed (run file 4, now 9)' err.txt)" -eq 1 ]
"$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" search --evaluator surrogate --budget 2 \
  --out search.h5 >/dev/null 2>&1
darts --resume search.h5 >out.txt 2>err.txt
check "resume of a search's run file exits 2" [ $? -eq 2 ]
check "resume of a search's run file: one line" \
  [ "$(grep -c '^hpcnas darts: error: .*not the run file of an hpcnas darts search' err.txt)" -eq 1 ]
darts --resume missing.h5 >out.txt 2>err.txt
check "resume of a missing file exits 2" [ $? -eq 2 ]
finish
