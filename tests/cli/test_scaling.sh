#!/usr/bin/env bash
# jobs/scaling-study.sh on a real one-host SLURM of 4 emulated nodes: a surrogate search study at
# 1, 2 and 4 nodes (4 ranks per node). Checks that it writes the table and the plots, that every
# number of the report follows from the run files, that each run file knows its ranks and nodes,
# and that the pool simulation predicts each measured efficiency (2 to 16 ranks) within 10%.
# Needs root and the Debian packages slurm-wlm and munge (scripts/test.sh installs them).
# usage: test_scaling.sh HPCNAS MPIEXEC REPOSITORY
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
HPCNAS=$(realpath "$1") # the tests cd into a temporary folder
MPIEXEC=$2
REPOSITORY=$3
WORK=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/local_slurm.sh"
trap 'stop_local_slurm; rm -rf "$WORK"' EXIT
start_local_slurm 4

STUDY=$WORK/study
cd "$REPOSITORY"
HPCNAS=$HPCNAS SLURM_WAIT_TIMEOUT=300 bash jobs/scaling-study.sh --nodes 1,2,4 --tasks-per-node 4 \
  --eval-seconds 0.5 --evals-per-trainer 8 --time 00:05:00 --out "$STUDY" >"$WORK/study.log" 2>&1
check "the study ran (exit $?)" [ $? -eq 0 ]
for f in scaling.md scaling.csv scaling.png timeline.png; do
  check "the study wrote $f" [ -s "$STUDY/$f" ]
done

$PY - "$STUDY" <<'PY'
import csv, sys, h5py, numpy as np
study = sys.argv[1]
rows = list(csv.DictReader(open(f"{study}/scaling.csv")))
assert [r["file"].rsplit("/", 1)[-1] for r in rows] == ["search-n1.h5", "search-n2.h5", "search-n4.h5"], rows
base = None
for r, nodes in zip(rows, (1, 2, 4)):
    with h5py.File(r["file"], "r") as f:
        ev = f["evaluations"]
        ranks, file_nodes = int(f.attrs["ranks"]), int(f.attrs["nodes"])
        span = ev["received"][:].max() - ev["dispatched"][:].min()
        throughput = 3600 * len(ev["id"]) / span
        busy = (ev["rank0_strategy_seconds"][:].sum() + ev["rank0_store_seconds"][:].sum()) / span
        budget = len(ev["id"])
    assert ranks == 4 * nodes and int(r["ranks"]) == ranks, (r, ranks)
    assert file_nodes == nodes and int(r["nodes"]) == nodes, (r, file_nodes)
    workers = ranks - 1
    assert int(r["workers"]) == workers and budget == 8 * workers, (r, budget)
    assert np.isclose(float(r["throughput"]), throughput, rtol=1e-5), (r, throughput)
    assert np.isclose(float(r["controller_busy"]), busy, rtol=1e-4, atol=1e-9), (r, busy)
    base = base or (throughput, workers)
    speedup = throughput / base[0]
    assert np.isclose(float(r["speedup"]), speedup, rtol=1e-5), (r, speedup)
    assert np.isclose(float(r["efficiency"]), speedup * base[1] / workers, rtol=1e-5), r
print("report matches the run files:", [(r["ranks"], r["nodes"], r["throughput"]) for r in rows])
PY
check "every number of the report follows from the run files" [ $? -eq 0 ]

# And the smallest pool, 2 ranks, started by mpirun outside SLURM.
timeout 120 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" search --evaluator surrogate \
  --surrogate-seconds 0.5 --budget 8 --out "$STUDY/two.h5" >/dev/null 2>&1
check "a 2-rank run" [ "$(rows "$STUDY/two.h5")" -eq 8 ]
$PY "$REPOSITORY/scripts/simulate_pool.py" --check "$STUDY/two.h5" "$STUDY"/search-n*.h5 \
  >"$WORK/simulation.txt" 2>&1
check "the simulation predicts 2 to 16 ranks within 10%" [ $? -eq 0 ]
if [ "$failed" -ne 0 ]; then
  echo "--- study log"; cat "$WORK/study.log"
  echo "--- simulation"; cat "$WORK/simulation.txt"
  tail -n 5 "$STUDY"/*.out
fi
finish
