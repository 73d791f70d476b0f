# Sourced by the shell tests: a counter of named checks, and readers of run files through
# Debian's h5py (/usr/bin/python3; the python3 first on PATH may lack it).
PY=/usr/bin/python3
passed=0
failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
# enter_scratch HPCNAS MPIEXEC: sets HPCNAS (made absolute: the test leaves its folder) and
# MPIEXEC, makes WORK, a scratch folder removed at exit after any run still going there is
# killed, and moves into it.
enter_scratch() {
  HPCNAS=$(realpath "$1")
  MPIEXEC=$2
  WORK=$(mktemp -d)
  trap 'pkill -9 -f "$WORK/" 2>/dev/null; rm -rf "$WORK"' EXIT
  cd "$WORK" || exit 1
}
# Prints the tally; the test's exit status is whether every check passed.
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
# rows FILE: rows of /evaluations (0 when the file cannot be read yet).
rows() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['evaluations/id'].shape[0])" "$1" 2>/dev/null || echo 0; }
same_columns() {  # same_columns A B: identical id, genotype and reward columns, bit for bit
  $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["evaluations"] for p in sys.argv[1:3])
ok = all(np.array_equal(a[c][:], b[c][:]) for c in ("id", "genotype", "reward"))
sys.exit(0 if ok else 1)
PY
}
# unique_ids FILE N: exactly N rows, no id twice.
unique_ids() { $PY -c "import h5py,sys; i=h5py.File(sys.argv[1],'r')['evaluations/id'][:]; sys.exit(0 if len(set(i))==len(i)==int(sys.argv[2]) else 1)" "$1" "$2"; }
# hpcnas_ranks HPCNAS COMMAND FILE: the pids of the hpcnas processes running COMMAND on FILE
# (not mpirun, whose command line names the same file).
hpcnas_ranks() { local p; for p in $(pgrep -f "$2 .*$3"); do
  [ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$1")" ] && echo "$p"; done; }
# same_darts A B: two DARTS run files with the same alpha history, genotypes, learning rates and
# validation results, bit for bit. The training loss of an epoch cut by a stop is summed in two
# parts, so it is compared to 1e-12.
same_darts() {
  $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["darts"] for p in sys.argv[1:3])
same = [np.array_equal(a[k][:], b[k][:]) for k in ("alpha_normal", "alpha_reduce")]
same += [np.array_equal(a["epochs"][c][:], b["epochs"][c][:])
         for c in ("epoch", "steps", "genotype", "learning_rate", "val_loss", "val_accuracy")]
same.append(np.allclose(a["epochs/train_loss"][:], b["epochs/train_loss"][:], rtol=1e-12, atol=0))
sys.exit(0 if all(same) else 1)
PY
}
# darts_epochs FILE: epochs recorded in a DARTS run file (0 when it cannot be read yet).
darts_epochs() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['darts/epochs/epoch'].shape[0])" "$1" 2>/dev/null || echo 0; }
