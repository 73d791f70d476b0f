#!/usr/bin/env bash
# The hpcnas executable as a user runs it: exit codes, one-line errors on every rank, help,
# version, and a run file that h5dump and h5py read.
# usage: test_cli.sh HPCNAS MPIEXEC [HAS_NCCL: ON|OFF, default OFF]
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
HPCNAS=$(realpath "$1") # the tests cd into a temporary folder
MPIEXEC=$2
HAS_NCCL=${3:-OFF}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mpi() { timeout 120 "$MPIEXEC" -n "$1" --oversubscribe "${@:2}"; }

out=$("$HPCNAS" --version)
check "--version" [ "$out" = "hpcnas 0.1.0" ]

"$HPCNAS" search --help >help.txt
check "search --help exits 0" [ $? -eq 0 ]
for option in --strategy --budget --seed --out --overwrite --dataset --data-dir --val-size \
  --train-subset --epochs --lr --eval-timeout --reward --evaluator --surrogate-seconds --config; do
  check "help lists $option" grep -q -- "$option" help.txt
done
check "help shows defaults" grep -q -- "--budget arg (=20)" help.txt

mpi 3 "$HPCNAS" search --bugdet 3 >out.txt 2>err.txt
check "unknown option exits 2" [ $? -eq 2 ]
check "unknown option: one line from rank 0" [ "$(grep -c bugdet err.txt)" -eq 1 ]

mpi 3 "$HPCNAS" search --budget 0 >out.txt 2>err.txt
check "budget 0 exits 2" [ $? -eq 2 ]
check "budget 0 named" grep -q -- "--budget must be at least 1" err.txt

mpi 3 "$HPCNAS" search --budget many >out.txt 2>err.txt
check "bad value exits 2" [ $? -eq 2 ]

mpi 3 "$HPCNAS" search --dataset mnist --data-dir "$WORK/missing" >out.txt 2>err.txt
check "missing data exits 2" [ $? -eq 2 ]
check "missing data: one line naming the file" [ "$(grep -c "$WORK/missing" err.txt)" -eq 1 ]

mpi 3 "$HPCNAS" search --evaluator surrogate --budget 10 --out run.h5 >out.txt 2>err.txt
check "surrogate search exits 0" [ $? -eq 0 ]
check "progress lines" [ "$(grep -c '^\[hpcnas\] [0-9]*/10 ' out.txt)" -eq 10 ]
check "prints best architecture" grep -q "^Genotype(normal=\[" out.txt
check "prints run file" grep -q "run file: .*run.h5" out.txt
check "h5dump reads the run file" h5dump -H run.h5 >/dev/null
/usr/bin/python3 - <<'PY'
import h5py, sys
with h5py.File("run.h5", "r") as f:
    e = f["evaluations"]
    cols = ["id", "genotype", "reward", "val_accuracy", "params", "flops", "latency_ms",
            "train_seconds", "rank", "status", "started", "finished", "dispatched", "received",
            "rank0_strategy_seconds", "rank0_store_seconds"]
    assert all(e[c].shape == (10,) for c in cols), "every column has 10 rows"
    assert (e["dispatched"][:] <= e["received"][:]).all(), "dispatched before received"
    assert int(f.attrs["ranks"]) == 3 and int(f.attrs["nodes"]) == 1
    assert sorted(e["id"][:]) == list(range(10))
    g = e["genotype"][0]
    g = g.decode() if isinstance(g, bytes) else g
    assert g.startswith("Genotype(normal=[("), g
    assert f.attrs["config.evaluator"] in ("surrogate", b"surrogate")
    assert int(f.attrs["schema_version"]) >= 1
PY
check "h5py reads the run file" [ $? -eq 0 ]

# The zero-cost prefilter: rank 0 sends each trainer the best of 1/F candidates by the proxy and
# records its score; a run without one records NaN.
mpi 3 "$HPCNAS" search --evaluator surrogate --budget 6 --prefilter naswot --prefilter-keep 0.34 \
  --prefilter-batch 8 --channels 4 --layers 3 --out prefilter.h5 >out.txt 2>err.txt
check "prefiltered search exits 0" [ $? -eq 0 ]
check "prefiltered search says so" grep -q "prefilter=naswot (best of 3 candidates per child)" out.txt
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
with h5py.File("prefilter.h5", "r") as f, h5py.File("run.h5", "r") as plain:
    assert np.isfinite(f["evaluations/proxy_score"][:]).all()
    assert f["evaluations/proxy_score"].shape == (6,)
    assert np.isnan(plain["evaluations/proxy_score"][:]).all()
PY
check "proxy_score: the prefilter's score, NaN without one" [ $? -eq 0 ]
mpi 2 "$HPCNAS" search --evaluator surrogate --prefilter gradnorm --out bad.h5 >out.txt 2>err.txt
check "unknown proxy exits 2" [ $? -eq 2 ]
check "unknown proxy: one line" [ "$(grep -c -- "--prefilter" err.txt)" -eq 1 ]
mpi 2 "$HPCNAS" search --evaluator surrogate --prefilter synflow --prefilter-keep 0 --out bad.h5 \
  >out.txt 2>err.txt
check "prefilter-keep 0 exits 2" [ $? -eq 2 ]
check "prefilter-keep 0 named" grep -q -- "--prefilter-keep must be in (0, 1]" err.txt

# ASHA on the surrogate: children start at the lowest rung; a promotion continues an earlier row
# of the same child with the next rung's epochs.
mpi 3 "$HPCNAS" search --evaluator surrogate --budget 30 --scheduler asha --min-epochs 1 \
  --max-epochs 9 --eta 3 --out asha.h5 >out.txt 2>err.txt
check "asha search exits 0" [ $? -eq 0 ]
check "asha search names its rungs" grep -q "scheduler=asha (eta 3, rungs 1 3 9 epochs)" out.txt
check "asha progress names epochs and promotions" \
  grep -q "^\[hpcnas\] [0-9]*/30 id=[0-9]* rank=[12] epochs=[39] (continues id [0-9]*) " out.txt
/usr/bin/python3 - asha.h5 <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    e = f["evaluations"]
    ids, epochs, continues = list(e["id"][:]), list(e["epochs"][:]), list(e["continues"][:])
    genotypes = e["genotype"].asstr()[:]
row = {i: k for k, i in enumerate(ids)}
assert set(epochs) == {1, 3, 9}, epochs
for k, c in enumerate(continues):
    if c < 0:
        assert epochs[k] == 1, (k, epochs[k])
    else:
        assert row[c] < k and genotypes[row[c]] == genotypes[k], (k, c)
        assert epochs[k] == {1: 3, 3: 9}[epochs[row[c]]], (k, c)
PY
check "asha rows: epochs per rung, promotions continue an earlier row" [ $? -eq 0 ]
mpi 2 "$HPCNAS" search --evaluator surrogate --scheduler hyperband --out bad.h5 >out.txt 2>err.txt
check "unknown scheduler exits 2" [ $? -eq 2 ]
mpi 2 "$HPCNAS" search --evaluator surrogate --scheduler asha --eta 1 --out bad.h5 >out.txt \
  2>err.txt
check "eta 1 exits 2" [ $? -eq 2 ]
check "eta 1 named" grep -q -- "--eta must be at least 2" err.txt

# A trainer left without work waits for the others' last children: leaving early, it would sit
# in MPI_Finalize past its 10 s bound, and its early exit made mpirun abort the job.
mpi 3 "$HPCNAS" search --evaluator surrogate --surrogate-seconds 12 --budget 3 --out tail.h5 \
  >out.txt 2>err.txt
check "a search whose last child outlasts an idle trainer by 12 s exits 0" [ $? -eq 0 ]
check "... with every result" [ "$(rows tail.h5)" -eq 3 ]
check "... and no abort" bash -c "! grep -q 'exiting improperly' err.txt out.txt"

# A trainer logs its child's epochs: loss, training accuracy, time per epoch and ETA.
mpi 2 "$HPCNAS" search --dataset synthetic --val-size 64 --train-subset 64 --channels 4 \
  --layers 3 --batch-size 16 --threads 1 --epochs 2 --budget 2 --progress-seconds 0 \
  --out epochs.h5 >out.txt 2>err.txt
check "a search with epoch lines exits 0" [ $? -eq 0 ]
check "every epoch of every child has its line" \
  [ "$(grep -cE "rank 1: evaluation [01] epoch [12]/2 loss [0-9.]+ train accuracy [0-9.]+ \([0-9.]+ s per epoch, ETA [0-9:]+\)" out.txt)" -eq 4 ]
mpi 2 "$HPCNAS" search --evaluator surrogate --progress-seconds -1 --out bad.h5 >out.txt 2>err.txt
check "negative --progress-seconds named" grep -q -- "--progress-seconds must be" err.txt

# ASHA with real training: a promoted child continues from the weights its last rung left.
mpi 2 "$HPCNAS" search --dataset synthetic --val-size 64 --train-subset 64 --channels 4 \
  --layers 3 --batch-size 16 --threads 1 --scheduler asha --min-epochs 1 --max-epochs 2 --eta 2 \
  --budget 5 --out asha-train.h5 >out.txt 2>err.txt
check "asha with training exits 0" [ $? -eq 0 ]
/usr/bin/python3 - asha-train.h5 <<'PY'
import os, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    e = f["evaluations"]
    rows = list(zip(e["id"][:], e["epochs"][:], e["continues"][:], e["status"].asstr()[:]))
assert all(s == "ok" for *_, s in rows), rows
promoted = [r for r in rows if r[2] >= 0]
assert promoted and all(r[1] == 2 for r in promoted), rows
# Weights are kept for the rows below the top rung, and only for them.
kept = sorted(int(n[:-3]) for n in os.listdir(sys.argv[1] + ".weights"))
assert kept == sorted(r[0] for r in rows if r[1] == 1), (kept, rows)
PY
check "asha with training: promotions at 2 epochs, weights kept for 1-epoch rows" [ $? -eq 0 ]

"$HPCNAS" report --scaling run.h5 --csv >out.txt 2>err.txt
check "report --scaling exits 0" [ $? -eq 0 ]
check "report --scaling: a row for the run" grep -q "^run.h5,search,3,1,2," out.txt
mpi 2 "$HPCNAS" report --scaling missing.h5 >out.txt 2>err.txt
check "report of a missing file exits 2" [ $? -eq 2 ]
check "report of a missing file: one line naming it" [ "$(grep -c missing.h5 err.txt)" -eq 1 ]

mpi 2 "$HPCNAS" search --evaluator surrogate --budget 2 --out run.h5 >out.txt 2>err.txt
check "existing run file exits 2" [ $? -eq 2 ]
check "existing run file named" grep -q "refusing to overwrite" err.txt

printf 'budget = 3\nevaluator = surrogate\n' >run.ini
mpi 2 "$HPCNAS" search --config run.ini --budget 4 --out ini.h5 >out.txt 2>err.txt
check "config file run exits 0" [ $? -eq 0 ]
check "command line wins over config file" [ "$(grep -c '^\[hpcnas\] [0-9]*/4 ' out.txt)" -eq 4 ]

"$HPCNAS" bench --what child --batch-size 2 --input 1x16x16 --threads 1 --steps 2 --warmup 1 \
  --channels 4 --layers 3 >out.txt 2>err.txt
check "bench exits 0" [ $? -eq 0 ]
check "bench prints median_step_s" grep -q "median_step_s=" out.txt

# Zero-cost proxies of the 10 children of run.h5 (a surrogate search on Fashion-MNIST).
"$HPCNAS" bench --what proxies --from run.h5 --batch-size 8 --threads 1 >out.txt 2>err.txt
check "bench --what proxies exits 0" [ $? -eq 0 ]
check "bench --what proxies: a line per child" [ "$(grep -c '^[0-9]* 0\.[0-9]* ' out.txt)" -eq 10 ]
check "bench --what proxies: tau of each proxy over the 10" \
  [ "$(grep -c 'children=10 batch=8 kendall_tau=' out.txt)" -eq 2 ]
mpi 2 "$HPCNAS" bench --what proxies --from missing.h5 >out.txt 2>err.txt
check "bench --what proxies of a missing file exits 2" [ $? -eq 2 ]
"$HPCNAS" bench --from run.h5 >out.txt 2>err.txt
check "bench --from without --what proxies exits 2" [ $? -eq 2 ]

# DARTS+ early stop: whether a skip connection shows up depends on training, so the check is that
# the run stops exactly after the first epoch whose normal cell has one, on every rank.
mpi 2 "$HPCNAS" darts --dataset synthetic --val-size 400 --epochs 3 --steps-per-epoch 2 \
  --channels 4 --layers 3 --batch-size 16 --threads 1 --stop-skips 1 --out stop.h5 >out.txt 2>err.txt
check "darts --stop-skips exits 0" [ $? -eq 0 ]
$PY - stop.h5 out.txt <<'PY'
import re, sys, h5py
skips = list(h5py.File(sys.argv[1], "r")["darts/epochs/normal_skip_connections"][:])
stopped = re.search(r"early stop after epoch (\d+)", open(sys.argv[2]).read())
first = next((i + 1 for i, k in enumerate(skips) if k >= 1), None)
if stopped:
    assert first == int(stopped.group(1)) == len(skips), (skips, stopped.group(0))
else:
    assert first is None and len(skips) == 3, skips
PY
check "darts --stop-skips stops after the first epoch with a skip connection" [ $? -eq 0 ]

# hpcnas darts on the default dataset (Fashion-MNIST) and on files in CIFAR-10's binary format.
mkdir cifar
$PY - cifar <<'PY'
import os, random, sys
random.seed(1)
for batch in range(1, 6):
    with open(os.path.join(sys.argv[1], f"data_batch_{batch}.bin"), "wb") as f:
        for _ in range(24):
            f.write(bytes([random.randrange(10)]) + bytes(random.randrange(256) for _ in range(3072)))
PY
for data in "--dataset fashion-mnist" "--dataset cifar10 --data-dir cifar"; do
  name=${data#--dataset }
  name=${name%% *}
  mpi 2 "$HPCNAS" darts $data --val-size 40 --train-subset 32 --val-subset 16 --epochs 2 \
    --batch-size 8 --channels 4 --layers 3 --threads 1 --out "$name.h5" >out.txt 2>err.txt
  check "darts on $name exits 0" [ $? -eq 0 ]
  $PY - "$name.h5" "$name" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f["darts"]
    assert d["alpha_normal"].shape == (2, 14, 8) and d["alpha_reduce"].shape == (2, 14, 8)
    assert d["epochs/epoch"].shape == (2,) and d["epochs/genotype"].shape == (2,)
    dataset = f.attrs["config.dataset"]
    assert (dataset.decode() if isinstance(dataset, bytes) else dataset) == sys.argv[2]
PY
  check "darts on $name writes alpha history and genotypes of both epochs" [ $? -eq 0 ]
done

mpi 2 "$HPCNAS" darts --device tpu >out.txt 2>err.txt
check "darts --device tpu exits 2" [ $? -eq 2 ]
check "darts --device tpu: one line naming the choices" [ "$(grep -c "cpu, cuda" err.txt)" -eq 1 ]
if [ "$HAS_NCCL" = OFF ]; then # GPU runs are scripts/gpu-check.sh's
  mpi 2 "$HPCNAS" darts --dataset synthetic --device cuda --out gpu.h5 >out.txt 2>err.txt
  check "darts --device cuda on 2 ranks without NCCL exits 2" [ $? -eq 2 ]
  check "darts --device cuda without NCCL: one line naming NCCL" [ "$(grep -c NCCL err.txt)" -eq 1 ]
  check "darts --device cuda without NCCL leaves no run file" [ ! -e gpu.h5 ]
fi

finish
