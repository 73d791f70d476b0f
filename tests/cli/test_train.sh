#!/usr/bin/env bash
# `hpcnas train` as a user runs it: from a genotype and from search and DARTS run files, at 1 and
# 2 ranks, on synthetic, Fashion-MNIST and CIFAR-10-format data; the exported ONNX model run in
# an independent runtime (OpenCV's DNN module) against hpcnas's logits; a training stopped by
# SIGTERM and resumed equals an uninterrupted one bit for bit; bad input exits 2 with one line.
# usage: test_train.sh HPCNAS MPIEXEC
set -u
CORPUS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz/corpus/run_file" && pwd)
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
enter_scratch "$1" "$2"
mpi() { local n=$1; shift; timeout 600 "$MPIEXEC" -n "$n" --oversubscribe "$HPCNAS" "$@"; }
GENOTYPE="Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), \
('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), \
('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), \
('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
tiny=(--channels 4 --layers 3 --batch-size 16 --steps-per-epoch 4 --threads 1 --cutout 6
      --crop-padding 2 --drop-path 0.2)

# onnx_matches RUN MODEL: the ONNX checker passes and OpenCV's logits equal hpcnas's within 1e-4.
onnx_matches() {
  $PY - "$1" "$2" <<'PY'
import sys, cv2, h5py, numpy as np, onnx
onnx.checker.check_model(onnx.load(sys.argv[2]))
with h5py.File(sys.argv[1], "r") as f:
    images, logits = f["export/images"][...], f["export/logits"][...]
net = cv2.dnn.readNetFromONNX(sys.argv[2])
net.setInput(images)
out = net.forward()
print("max |opencv - hpcnas| =", np.abs(out - logits).max())
sys.exit(0 if out.shape == logits.shape and np.abs(out - logits).max() < 1e-4 else 1)
PY
}
# tested RUN EPOCHS: EPOCHS rows, a test accuracy, a confusion matrix over the whole test set.
tested() {
  $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["kind"] in ("train", b"train")
    assert f["epochs/epoch"].shape == (int(sys.argv[2]),)
    confusion = f["test/confusion"][...]
    assert confusion.shape == (10, 10)
    accuracy = np.trace(confusion) / confusion.sum()
    assert abs(accuracy - f.attrs["test_accuracy"]) < 1e-12
    assert abs(f["epochs/test_accuracy"][-1] - accuracy) < 1e-12
    per_class = f["test/per_class_accuracy"][...]
    assert f.attrs["worst_class"] == int(np.argmin(per_class))
PY
}

# From a genotype, 1 rank, synthetic data, exported.
mpi 1 train --genotype "$GENOTYPE" --dataset synthetic --epochs 2 "${tiny[@]}" \
  --out one.h5 --export one.onnx >one.log 2>&1
check "train --genotype at 1 rank exits 0" [ $? -eq 0 ]
check "train logs one line per epoch with an ETA" [ "$(grep -c "epoch [12]/2: .* eta " one.log)" -eq 2 ]
check "train prints the worst class" grep -q "worst class" one.log
check "train at 1 rank records 2 epochs and the test results" tested one.h5 2
check "ONNX model of 1 rank matches hpcnas in OpenCV" onnx_matches one.h5 one.onnx

# From a search run file (best by reward, or an id) and from a DARTS run file, 2 ranks.
mpi 2 search --evaluator surrogate --budget 6 --dataset synthetic --out search.h5 >/dev/null 2>&1
mpi 2 train --from search.h5 --dataset synthetic --epochs 1 "${tiny[@]}" --out from.h5 \
  >from.log 2>&1
check "train --from a search file at 2 ranks exits 0" [ $? -eq 0 ]
$PY - search.h5 from.h5 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as s, h5py.File(sys.argv[2], "r") as t:
    e = s["evaluations"]
    best = e["genotype"][int(np.argmax(e["reward"][...]))]
    assert t.attrs["genotype"] == best.decode(), (t.attrs["genotype"], best)
    assert t.attrs["source_run"].endswith("search.h5") and t.attrs["source_seconds"] >= 0
PY
check "train --from takes the best genotype and records its source" [ $? -eq 0 ]
mpi 2 train --from search.h5 --pick 3 --dataset synthetic --epochs 1 "${tiny[@]}" \
  --out pick.h5 >/dev/null 2>&1
$PY -c "import h5py,sys; s=h5py.File('search.h5','r')['evaluations']; \
i=list(s['id'][...]).index(3); sys.exit(0 if h5py.File('pick.h5','r').attrs['genotype']==s['genotype'][i].decode() else 1)"
check "train --pick 3 takes evaluation 3" [ $? -eq 0 ]
mpi 2 darts --dataset synthetic --val-size 200 --train-subset 32 --val-subset 16 --epochs 2 \
  --batch-size 8 --channels 4 --layers 3 --threads 1 --out darts.h5 >/dev/null 2>&1
mpi 2 train --from darts.h5 --dataset synthetic --epochs 1 "${tiny[@]}" --out fromdarts.h5 \
  >/dev/null 2>&1
$PY -c "import h5py,sys; d=h5py.File('darts.h5','r')['darts/epochs/genotype'][-1].decode(); \
sys.exit(0 if h5py.File('fromdarts.h5','r').attrs['genotype']==d else 1)"
check "train --from a DARTS file takes the last epoch's genotype" [ $? -eq 0 ]

# Real data: Fashion-MNIST at 2 ranks, CIFAR-10-format files at 1 rank; both exported.
mkdir cifar
$PY - cifar <<'PY'
import os, random, sys
random.seed(2)
for name in [f"data_batch_{b}.bin" for b in range(1, 6)] + ["test_batch.bin"]:
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        for _ in range(24):
            f.write(bytes([random.randrange(10)]) + bytes(random.randrange(256) for _ in range(3072)))
PY
for setting in "2 fashion-mnist --train-subset 256" "1 cifar10 --data-dir cifar"; do
  read -r ranks name extra <<<"$setting"
  mpi "$ranks" train --genotype "$GENOTYPE" --dataset "$name" $extra --epochs 1 "${tiny[@]}" \
    --out "$name.h5" --export "$name.onnx" >"$name.log" 2>&1
  check "train on $name at $ranks ranks exits 0" [ $? -eq 0 ]
  check "train on $name records the test results" tested "$name.h5" 1
  check "ONNX model of $name matches hpcnas in OpenCV" onnx_matches "$name.h5" "$name.onnx"
done

# SIGTERM in the second epoch, resume: the same epochs, bit for bit, as an uninterrupted run.
args=(--genotype "$GENOTYPE" --dataset synthetic --epochs 3 --channels 4 --layers 3
      --batch-size 16 --steps-per-epoch 150 --threads 1 --cutout 6 --drop-path 0.2 --seed 5)
mpi 2 train "${args[@]}" --out full.h5 >full.log 2>&1
epochs() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['epochs/epoch'].shape[0])" "$1" 2>/dev/null || echo 0; }
mpi 2 train "${args[@]}" --out term.h5 >term.log 2>&1 &
launcher=$!
for _ in $(seq 1200); do [ "$(epochs term.h5)" -ge 1 ] && break; sleep 0.1; done

kill -TERM $(hpcnas_ranks "$HPCNAS" train term.h5)
wait $launcher
check "SIGTERM exits 0" [ $? -eq 0 ]
check "SIGTERM says how to resume" grep -q -- "train --resume term.h5" term.log
mpi 2 train --resume term.h5 --export term.onnx >resume.log 2>&1
check "resume exits 0" [ $? -eq 0 ]
check "resume says where it continues" grep -q "resumed term.h5: checkpoint in epoch 2 of 3, at step" resume.log
$PY - full.h5 term.h5 <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
same = [np.array_equal(a["epochs"][c][:], b["epochs"][c][:])
        for c in ("epoch", "steps", "learning_rate", "test_loss", "test_accuracy")]
same.append(np.allclose(a["epochs/train_loss"][:], b["epochs/train_loss"][:], rtol=1e-12, atol=0))
same.append(np.array_equal(a["test/confusion"][:], b["test/confusion"][:]))
sys.exit(0 if all(same) else 1)
PY
check "SIGTERM + resume equals the uninterrupted training" [ $? -eq 0 ]
check "the resumed training exports a model that matches" onnx_matches term.h5 term.onnx
mpi 2 train --resume term.h5 >again.log 2>&1
check "resume of a finished training exits 0" [ $? -eq 0 ]
check "resume of a finished training says so" \
  grep -q "resumed term.h5: checkpoint after all 3 epochs, nothing left to train" again.log

# Bad input: one line, exit 2, no run file left behind.
bad() {  # bad NAME PATTERN ARGS...: exit 2, one line on stderr matching PATTERN, no run file
  local name=$1 pattern=$2; shift 2
  mpi 2 train "$@" --dataset synthetic --out bad.h5 >out.txt 2>err.txt
  local code=$?
  check "$name exits 2 (got $code)" [ "$code" -eq 2 ]
  check "$name: one line naming it" [ "$(grep -c "$pattern" err.txt)" -eq 1 ]
  check "$name: no run file" [ ! -e bad.h5 ]
}
bad "a garbled genotype" "unknown operation .sep_conv_9x9" --genotype "Genotype(normal=[('sep_conv_9x9', 0)])"
bad "both --genotype and --from" "exactly one" --genotype "$GENOTYPE" --from search.h5
bad "a missing --from file" "nothere.h5" --from nothere.h5
bad "--pick of an unknown id" "no evaluation 999" --from search.h5 --pick 999
bad "--from a train file" "holds no search result" --from one.h5
# A file that crashes HDF5 when read: rank 0 tries it in a child process, every rank exits 2.
cp "$CORPUS/regression-hdf5-h5hg-read-segv" crash.h5
bad "--from a file that crashes HDF5" "'crash.h5' is damaged: reading it crashed" --from crash.h5

finish
