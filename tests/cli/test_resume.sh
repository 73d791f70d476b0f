#!/usr/bin/env bash
# Checkpoints and resume, as a user meets them: a run stopped by SIGTERM and resumed, and a run
# killed with -9 and resumed, must give the same genotype and reward columns as an uninterrupted
# run (one trainer, surrogate evaluator) for every strategy; bad resumes exit 2 with one line.
# usage: test_resume.sh HPCNAS MPIEXEC
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
RESULTS=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../../docs/results")
enter_scratch "$1" "$2"
BUDGET=60
search() { timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" search "$@"; }
ranks_of() { hpcnas_ranks "$HPCNAS" search "$1"; }
wait_rows() {  # wait_rows FILE N: until FILE has N rows (at most 60 s)
  for _ in $(seq 600); do [ "$(rows "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }

# "prefilter": hybrid behind rank 0's NASWOT prefilter, whose replay after a restart must draw
# and score the same candidates again. "asha": evolution under ASHA, whose promotions the replay
# must make again.
for strategy in random rl evolution qlearning hybrid prefilter asha; do
  args=(--strategy "$strategy" --evaluator surrogate --seed 7
        --budget "$BUDGET" --checkpoint-every 4)
  [ "$strategy" = prefilter ] &&
    args=(--strategy hybrid --prefilter naswot --prefilter-keep 0.5 --prefilter-batch 8
          --dataset synthetic --channels 2 --layers 3 "${args[@]:2}")
  [ "$strategy" = asha ] &&
    args=(--strategy evolution --scheduler asha --min-epochs 1 --max-epochs 9 --eta 3
          "${args[@]:2}")
  search "${args[@]}" --surrogate-seconds 0.03 --out "full-$strategy.h5" >/dev/null 2>&1
  check "$strategy: uninterrupted run" [ "$(rows "full-$strategy.h5")" -eq "$BUDGET" ]

  # SIGTERM to every rank, as SLURM does, then resume. Slower evaluations (not a search-defining
  # option) leave seconds between the 25th row and the budget, so the signal lands mid-run even
  # on a loaded machine.
  search "${args[@]}" --surrogate-seconds 0.2 --out "term-$strategy.h5" >"term-$strategy.log" 2>&1 &
  launcher=$!
  wait_rows "term-$strategy.h5" 25
  start=$(date +%s%N)
  kill -TERM $(ranks_of "term-$strategy.h5")
  wait $launcher
  code=$?
  took=$((($(date +%s%N) - start) / 1000000))
  check "$strategy: SIGTERM exits 0 (got $code)" [ "$code" -eq 0 ]
  check "$strategy: SIGTERM exits within 5 s (took $took ms)" [ "$took" -lt 5000 ]
  check "$strategy: stopped before the budget" [ "$(rows "term-$strategy.h5")" -lt "$BUDGET" ]
  check "$strategy: says how to resume" grep -q -- "--resume" "term-$strategy.log"
  search --resume "term-$strategy.h5" >"resume-$strategy.log" 2>&1
  check "$strategy: resume after SIGTERM exits 0" [ $? -eq 0 ]
  check "$strategy: SIGTERM + resume equals the uninterrupted run" \
    same_columns "full-$strategy.h5" "term-$strategy.h5"

  # kill -9 of every rank: no chance to checkpoint.
  search "${args[@]}" --surrogate-seconds 0.2 --out "kill-$strategy.h5" >/dev/null 2>&1 &
  launcher=$!
  wait_rows "kill-$strategy.h5" 25
  kill -9 $(ranks_of "kill-$strategy.h5")
  wait $launcher
  before=$(rows "kill-$strategy.h5")
  check "$strategy: killed before the budget" [ "$before" -lt "$BUDGET" ]
  cp "kill-$strategy.h5" "before-$strategy.h5"
  search --resume "kill-$strategy.h5" >/dev/null 2>&1
  check "$strategy: resume after kill -9 exits 0" [ $? -eq 0 ]
  check "$strategy: kill -9 + resume has budget rows, no duplicate id" unique_ids "kill-$strategy.h5" "$BUDGET"
  $PY - "before-$strategy.h5" "kill-$strategy.h5" "$before" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["evaluations"] for p in sys.argv[1:3])
n = int(sys.argv[3])
sys.exit(0 if all(np.array_equal(a[c][:n], b[c][:n]) for c in ("id", "genotype", "reward")) else 1)
PY
  check "$strategy: nothing recorded before kill -9 is lost" [ $? -eq 0 ]
  check "$strategy: kill -9 + resume equals the uninterrupted run" \
    same_columns "full-$strategy.h5" "kill-$strategy.h5"
  if [ "$strategy" = prefilter ]; then
    $PY - full-prefilter.h5 term-prefilter.h5 kill-prefilter.h5 <<'PY'
import sys, h5py, numpy as np
full, *resumed = (h5py.File(p, "r")["evaluations/proxy_score"][:] for p in sys.argv[1:])
sys.exit(0 if np.isfinite(full).all() and all(np.array_equal(full, r) for r in resumed) else 1)
PY
    check "prefilter: resumed runs record the same proxy scores" [ $? -eq 0 ]
  fi
  if [ "$strategy" = asha ]; then
    $PY - full-asha.h5 term-asha.h5 kill-asha.h5 <<'PY'
import sys, h5py, numpy as np
def columns(path):
    e = h5py.File(path, "r")["evaluations"]
    return e["epochs"][:], e["continues"][:]
full, *resumed = (columns(p) for p in sys.argv[1:])
ok = (full[1] >= 0).any() and all(
    np.array_equal(full[0], r[0]) and np.array_equal(full[1], r[1]) for r in resumed)
sys.exit(0 if ok else 1)
PY
    check "asha: resumed runs make the same promotions" [ $? -eq 0 ]
  fi
done

# Resuming with a budget that is already reached changes nothing.
search --resume full-random.h5 >out.txt 2>&1
check "resume of a finished run exits 0" [ $? -eq 0 ]
check "resume of a finished run adds no row" [ "$(rows full-random.h5)" -eq "$BUDGET" ]

# Bad resumes: one line, exit 2.
search --resume missing.h5 >out.txt 2>err.txt
check "missing run file exits 2" [ $? -eq 2 ]
check "missing run file named once" [ "$(grep -c missing.h5 err.txt)" -eq 1 ]
echo "not hdf5" >garbage.h5
search --resume garbage.h5 >out.txt 2>err.txt
check "not a run file exits 2" [ $? -eq 2 ]
check "not a run file named once" [ "$(grep -c garbage.h5 err.txt)" -eq 1 ]
# A run file whose B-tree is damaged (an input the run-file fuzz target found): HDF5 cannot
# close it, which once crashed the process at exit after its error line.
cp "$(dirname "${BASH_SOURCE[0]}")/../fuzz/corpus/run_file/regression-hdf5-leak-closing-damaged-file" \
  damaged.h5
search --resume damaged.h5 >out.txt 2>err.txt
check "damaged run file exits 2" [ $? -eq 2 ]
check "damaged run file named once" [ "$(grep -c damaged.h5 err.txt)" -eq 1 ]
# Run files damaged so that reading them crashes HDF5 1.10 itself (fuzz inputs): the trial read
# in a child process refuses them, every rank exits 2, one line says what happened.
for kind in h5a-close-segv h5hg-read-segv; do
  cp "$(dirname "${BASH_SOURCE[0]}")/../fuzz/corpus/run_file/regression-hdf5-$kind" crash.h5
  search --resume crash.h5 >out.txt 2>err.txt
  check "$kind: run file that crashes HDF5 exits 2" [ $? -eq 2 ]
  check "$kind: one line, naming the file and the damage" \
    [ "$(grep -c "'crash.h5' is damaged: reading it crashed the HDF5 library" err.txt)" -eq 1 ]
done
search --resume term-rl.h5 --seed 8 >out.txt 2>err.txt
check "changed --seed exits 2" [ $? -eq 2 ]
check "changed --seed named" grep -q -- "--seed (run file 7, now 8)" err.txt
search --resume term-rl.h5 --strategy random >out.txt 2>err.txt
check "changed --strategy named" grep -q -- "--strategy" err.txt

cp term-evolution.h5 fallback.h5
cp term-evolution.h5.ckpt fallback.h5.ckpt.prev
head -c 100 term-evolution.h5.ckpt >fallback.h5.ckpt
search --resume fallback.h5 --budget 70 >out.txt 2>err.txt
check "corrupt newest checkpoint falls back" [ $? -eq 0 ]
check "fallback is reported" grep -q "previous checkpoint" out.txt
check "fallback run completes" [ "$(rows fallback.h5)" -eq 70 ]

cp term-random.h5 truncated.h5
head -c 100 term-random.h5.ckpt >truncated.h5.ckpt
search --resume truncated.h5 >out.txt 2>err.txt
check "truncated checkpoint exits 2" [ $? -eq 2 ]
check "truncated checkpoint named" grep -q "truncated.h5.ckpt" err.txt

# flip_byte CHECKPOINT: inverts one byte in the middle of the checkpoint's payload, a damage
# that leaves the HDF5 file readable: only the checksum can tell.
flip_byte() {
  $PY - "$1" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f["payload"]
    at = d.id.get_offset() + d.shape[0] // 2
with open(sys.argv[1], "r+b") as f:
    f.seek(at)
    byte = f.read(1)[0]
    f.seek(at)
    f.write(bytes([byte ^ 0xFF]))
PY
}
cp term-evolution.h5 flipped.h5
cp term-evolution.h5.ckpt flipped.h5.ckpt.prev
cp term-evolution.h5.ckpt flipped.h5.ckpt
flip_byte flipped.h5.ckpt
search --resume flipped.h5 --budget 70 >out.txt 2>err.txt
check "flipped byte: exits 0 from the previous checkpoint" [ $? -eq 0 ]
check "flipped byte: the checksum is named" grep -q "flipped.h5.ckpt' fails its checksum" out.txt
check "flipped byte: run completes" unique_ids flipped.h5 70

# Both checkpoints damaged: one line naming both, exit 2, and not a byte of the run file changed.
cp term-evolution.h5 damaged.h5
cp term-evolution.h5.ckpt damaged.h5.ckpt
flip_byte damaged.h5.ckpt
head -c 3000 term-evolution.h5.ckpt >damaged.h5.ckpt.prev
cp damaged.h5 damaged-before.h5
search --resume damaged.h5 >out.txt 2>err.txt
check "both damaged: exits 2" [ $? -eq 2 ]
check "both damaged: one line naming both" [ "$(grep -c "damaged.h5.ckpt.*damaged.h5.ckpt.prev" err.txt)" -eq 1 ]
check "both damaged: the run file is untouched" cmp -s damaged.h5 damaged-before.h5

cp full-random.h5 schema.h5
$PY -c "import h5py; h5py.File('schema.h5','r+').attrs['schema_version'] = 99"
search --resume schema.h5 >out.txt 2>err.txt
check "other schema version exits 2" [ $? -eq 2 ]
check "other schema version named" grep -q "schema version 99" err.txt

# A run file written before --q-lambda, --prefilter and --scheduler existed (the documented
# Fashion-MNIST search, finished at its budget) resumes: its checkpoint's hash covers the options
# it records, and the options added since keep the behaviour the run had.
cp "$RESULTS"/fashion-mnist/search.h5 "$RESULTS"/fashion-mnist/search.h5.ckpt .
search --resume search.h5 >out.txt 2>err.txt
check "a run file older than its options resumes (exit $?)" grep -q "resumed search.h5: 100" out.txt
search --resume search.h5 --scheduler asha >out.txt 2>err.txt
check "an option added since must keep the old run's value" \
  grep -q "options differ from the run's: --scheduler (run file none, now asha)" err.txt

# A requeued SLURM job starts its tasks with USR1 ignored (jobs/search-job.sh): hpcnas keeps it
# ignored and runs to its budget.
timeout 300 "$MPIEXEC" -n 2 --oversubscribe /bin/sh -c 'trap "" USR1; exec "$0" "$@"' "$HPCNAS" \
  search --evaluator surrogate --surrogate-seconds 0.1 --budget 40 --out ignored.h5 \
  >ignored.log 2>&1 &
launcher=$!
wait_rows ignored.h5 5
kill -USR1 $(ranks_of ignored.h5)
wait $launcher
code=$?
check "an inherited ignored USR1 stays ignored (exit $code)" [ "$code" -eq 0 ]
check "an ignored USR1 stops nothing" [ "$(grep -c "stopped by signal" ignored.log)" -eq 0 ]
check "the run ignoring USR1 reaches its budget" [ "$(rows ignored.h5)" -eq 40 ]

finish
