#!/usr/bin/env bash
# A trainer that dies costs its evaluation, not the search. Under a launcher that keeps the job
# alive after a rank dies (mpirun --enable-recovery), a trainer is killed (kill -9) in the middle
# of a search at 3 and at 4 ranks; rank 0 must record its evaluation as lost once the trainer is
# unheard for --trainer-timeout, hand that rank no more work, and finish the budget with the
# trainers left: every id once, one `lost` row naming the rank, a log line saying so. Then
# --resume, replaying every row (the lost one too) from the first checkpoint, extends the budget.
# usage: test_trainer_loss.sh HPCNAS MPIEXEC
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
enter_scratch "$1" "$2"

# world_rank PID: the MPI rank of a process started by Open MPI's mpirun.
world_rank() { tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^OMPI_COMM_WORLD_RANK=//p'; }

# lost_row FILE RANK: exactly one row has status "lost", it was evaluated on RANK, its message
# names the rank, and RANK started nothing after it was lost.
lost_row() {
  $PY - "$1" "$2" <<'PY'
import sys, h5py
e = h5py.File(sys.argv[1], "r")["evaluations"]
rank = int(sys.argv[2])
text = lambda s: s.decode() if isinstance(s, bytes) else s
status = [text(s) for s in e["status"][:]]
lost = [i for i, s in enumerate(status) if s == "lost"]
if len(lost) != 1:
    sys.exit(f"{len(lost)} lost rows")
row = lost[0]
message = text(e["message"][row])
print("lost row:", e["id"][row], message)
later = [i for i in range(len(status))
         if e["rank"][i] == rank and e["started"][i] > e["finished"][row]]
ok = e["rank"][row] == rank and f"rank {rank} lost" in message and not later
sys.exit(0 if ok else 1)
PY
}

for ranks in 3 4; do
  name=loss$ranks
  budget=60
  timeout -s KILL 300 "$MPIEXEC" --enable-recovery -n "$ranks" --oversubscribe "$HPCNAS" search \
    --evaluator surrogate --strategy evolution --population 8 --sample 3 \
    --surrogate-seconds 0.2 --budget $budget --trainer-timeout 2 --checkpoint-every 1000 \
    --checkpoint-seconds 1000 --out "$WORK/$name.h5" >"$name.out" 2>"$name.err" &
  launcher=$!
  waited=0
  start=$SECONDS
  until [ "$(rows $name.h5)" -ge 10 ] || [ $waited -ge 600 ]; do sleep 0.1; waited=$((waited + 1)); done
  echo "$name: 10 rows after $((SECONDS - start)) s"
  victim=
  for p in $(hpcnas_ranks "$HPCNAS" search "$WORK/$name.h5"); do
    r=$(world_rank "$p")
    [ "${r:-0}" -ne 0 ] && { victim=$p; victim_rank=$r; }
  done
  check "$name: a trainer was found to kill" test -n "$victim"
  [ -n "$victim" ] && kill -9 "$victim"
  killed_at=$SECONDS
  wait "$launcher"
  rc=$?
  echo "$name: killed rank ${victim_rank:-?}; the job ended $((SECONDS - killed_at)) s later, exit $rc"
  grep "lost" "$name.out" | head -2
  check "$name: the job ends by itself, exit 0" test "$rc" -eq 0
  check "$name: the budget completes, every id once" unique_ids "$name.h5" $budget
  check "$name: one lost row, on the killed rank, nothing after it there" \
    lost_row "$name.h5" "${victim_rank:-0}"
  check "$name: the log names the lost rank" grep -q "rank ${victim_rank:-x} lost" "$name.out"

  start=$SECONDS
  timeout 300 "$MPIEXEC" -n "$ranks" --oversubscribe "$HPCNAS" search --resume "$name.h5" \
    --budget $((budget + 20)) >"$name-resume.out" 2>&1
  echo "$name: --resume to $((budget + 20)) took $((SECONDS - start)) s"
  check "$name: --resume replays the lost row and extends the budget" \
    unique_ids "$name.h5" $((budget + 20))
done
finish
