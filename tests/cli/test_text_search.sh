#!/usr/bin/env bash
# hpcnas search, darts and train on text: recurrent cells trained as text classifiers on a
# DIR/<class>/*.txt folder made here, with every strategy, ASHA, a kill -9 and --resume; darts
# --space rnn at 2 ranks; the best cell and the LSTM and GRU baselines trained and tested by
# hpcnas train; the options that do not apply to text are refused with one line. With the SpamAssassin corpus installed
# (scripts/install-spamassassin.sh), one short search on it too.
# usage: test_text_search.sh HPCNAS MPIEXEC
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
enter_scratch "$1" "$2"
search() { timeout 300 "$MPIEXEC" -n 3 --oversubscribe "$HPCNAS" search "$@"; }

# Two topics, 40 texts each: a word from the topic's list in every text, among shared words.
$PY - <<'PY'
import os, random
rng = random.Random(3)
shared = "the a of to and in is it for on with as was this that by at".split()
topics = {"sports": "goal match team score league coach player season".split(),
          "cooking": "oven salt flour butter recipe sugar bake pan".split()}
for name, words in topics.items():
    os.makedirs(f"corpus/{name}")
    for i in range(40):
        text = [rng.choice(shared) for _ in range(rng.randint(8, 20))]
        for _ in range(3):
            text.insert(rng.randrange(len(text) + 1), rng.choice(words))
        open(f"corpus/{name}/{i}.txt", "w").write(" ".join(text))
PY
TEXT=(--dataset text-folder --data-dir corpus --rnn-nodes 4 --embedding 8 --hidden 8
      --max-tokens 24 --batch-size 16 --epochs 12 --lr 0.5 --threads 1 --seed 3)

for strategy in random rl evolution qlearning hybrid; do
  search "${TEXT[@]}" --strategy "$strategy" --population 4 --sample 2 --rl-batch 2 --budget 6 \
    --out "$strategy.h5" >"$strategy.log" 2>&1
  check "$strategy: text search exits 0" [ $? -eq 0 ]
  check "$strategy: 6 rows" [ "$(rows "$strategy.h5")" -eq 6 ]
  $PY - "$strategy.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    e = f["evaluations"]
    cells = e["genotype"].asstr()[:]
    assert all(c.startswith("Genotype(recurrent=[(") and c.endswith("concat=range(1, 5))")
               for c in cells), cells
    assert all(s == "ok" for s in e["status"].asstr()[:]), e["message"].asstr()[:]
    assert all(0 <= a <= 1 for a in e["val_accuracy"][:])
    assert all(p > 0 for p in e["params"][:])
PY
  check "$strategy: recurrent cells in the run file, all trained" [ $? -eq 0 ]
  check "$strategy: prints the best cell" grep -q "^Genotype(recurrent=\[" "$strategy.log"
done
check "the topics are learnt (best accuracy above chance)" \
  $PY -c "import h5py,sys; sys.exit(0 if max(h5py.File('random.h5','r')['evaluations/val_accuracy'][:]) > 0.6 else 1)"

# ASHA: promoted cells continue from their saved weights.
search "${TEXT[@]}" --strategy evolution --population 4 --sample 2 --scheduler asha \
  --min-epochs 1 --max-epochs 2 --eta 2 --budget 6 --out asha.h5 >asha.log 2>&1
check "asha on text exits 0" [ $? -eq 0 ]
check "asha on text: a promotion" \
  $PY -c "import h5py,sys; sys.exit(0 if max(h5py.File('asha.h5','r')['evaluations/continues'][:]) >= 0 else 1)"

# kill -9 of every rank, then --resume: the same cells, ids and rewards as a run left alone.
# One trainer, so that results arrive in the same order, and one thread per child, so that
# training repeats bit for bit.
one_trainer() { timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" search "$@"; }
args=("${TEXT[@]}" --strategy rl --rl-batch 2 --budget 10 --checkpoint-every 2)
one_trainer "${args[@]}" --out full.h5 >/dev/null 2>&1
check "uninterrupted text run" [ "$(rows full.h5)" -eq 10 ]
one_trainer "${args[@]}" --out killed.h5 >/dev/null 2>&1 &
launcher=$!
for _ in $(seq 600); do [ "$(rows killed.h5)" -ge 4 ] && break; sleep 0.1; done
kill -9 $(hpcnas_ranks "$HPCNAS" search killed.h5)
wait $launcher
check "killed before the budget" [ "$(rows killed.h5)" -lt 10 ]
one_trainer --resume killed.h5 >resume.log 2>&1
check "resume of a text search exits 0" [ $? -eq 0 ]
check "kill -9 + resume equals the uninterrupted text run" same_columns full.h5 killed.h5

# What does not apply to text is refused, with one line from rank 0 and exit 2 on every rank.
refused() {  # refused NAME MESSAGE ARGS...: exit 2 and MESSAGE once in stderr
  local name=$1 message=$2; shift 2
  search "$@" --out refused.h5 >out.txt 2>err.txt
  check "$name exits 2" [ $? -eq 2 ]
  check "$name: one line" [ "$(grep -c -- "$message" err.txt)" -eq 1 ]
}
refused "surrogate on text" "--evaluator surrogate imitates image cells only" \
  --dataset text-folder --data-dir corpus --evaluator surrogate
refused "prefilter on text" "--prefilter scores image cells only" \
  --dataset text-folder --data-dir corpus --prefilter naswot
refused "text-folder without a folder" "--dataset text-folder needs --data-dir" \
  --dataset text-folder
refused "a folder that is missing" "$WORK/missing" --dataset text-folder --data-dir "$WORK/missing"
refused "no room for training" "their sum below 1" \
  --dataset text-folder --data-dir corpus --val-fraction 0.5 --test-fraction 0.5
refused "too many nodes" "--rnn-nodes must be in 1..64" \
  --dataset text-folder --data-dir corpus --rnn-nodes 65

# hpcnas train: the best cell of a search, and a baseline, tested on the test split.
train() { timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" train "$@"; }
TRAIN=(--dataset text-folder --data-dir corpus --embedding 8 --hidden 8 --max-tokens 24
       --batch-size 16 --epochs 12 --lr 0.5 --threads 1)
train "${TRAIN[@]}" --from random.h5 --out cell.h5 >cell.log 2>&1
check "train of the best cell exits 0" [ $? -eq 0 ]
check "train of the best cell: test accuracy" grep -qE "^\[hpcnas\] test accuracy 0\.[0-9]+" cell.log
check "train of the best cell: it is the search's best" \
  grep -qF "$($PY -c "import h5py; f=h5py.File('random.h5','r')['evaluations']; import numpy as n; print(f['genotype'].asstr()[int(n.argmax(f['reward'][:]))][:40])")" cell.log
for kind in lstm gru; do
  train "${TRAIN[@]}" --baseline $kind --out $kind.h5 >$kind.log 2>&1
  check "train of the $kind baseline exits 0" [ $? -eq 0 ]
  check "$kind: above chance on the test split" \
    $PY -c "import h5py,sys; sys.exit(0 if h5py.File('$kind.h5','r')['epochs/test_accuracy'][-1] > 0.6 else 1)"
done
train "${TRAIN[@]}" --baseline lstm --export m.onnx --out refused.h5 >out.txt 2>err.txt
check "export of a text classifier exits 2" [ $? -eq 2 ]
check "export of a text classifier: named" grep -q "ONNX export of text classifiers" err.txt
train --dataset synthetic --baseline gru --out refused.h5 >out.txt 2>err.txt
check "a baseline on images exits 2" [ $? -eq 2 ]
DARTS_V2="Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), \
('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), \
('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), \
('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
train "${TRAIN[@]}" --genotype "$DARTS_V2" --out refused.h5 >out.txt 2>err.txt
check "an image genotype on texts exits 2" [ $? -eq 2 ]
check "an image genotype on texts: one line" \
  [ "$(grep -c "an image genotype trains on an image dataset" err.txt)" -eq 1 ]

# hpcnas darts --space rnn: the recurrent cell by continuous relaxation, data-parallel at 2 ranks;
# the cell it derives trained by hpcnas train.
darts() { timeout 300 "$MPIEXEC" -n 2 --oversubscribe "$HPCNAS" darts "$@"; }
DARTS=(--space rnn --dataset text-folder --data-dir corpus --rnn-nodes 4 --embedding 8
       --hidden 8 --max-tokens 24 --batch-size 16 --epochs 3 --threads 1 --seed 3)
darts "${DARTS[@]}" --out rnn.h5 >rnn.log 2>&1
check "darts --space rnn at 2 ranks exits 0" [ $? -eq 0 ]
check "darts --space rnn: a line per epoch" [ "$(grep -c "^\[hpcnas\] epoch [0-9]/3:" rnn.log)" -eq 3 ]
$PY - rnn.h5 <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["config.space"] == "rnn", f.attrs["config.space"]
    alpha = f["darts/alpha_recurrent"]
    assert alpha.shape == (3, 10, 4), alpha.shape  # 4 nodes: 1 + 2 + 3 + 4 edges
    assert alpha.attrs["ops"] == "tanh,relu,sigmoid,identity"
    assert "alpha_normal" not in f["darts"]
    assert (alpha[2] != alpha[0]).any()
    cells = f["darts/epochs/genotype"].asstr()[:]
    assert all(c.startswith("Genotype(recurrent=[(") and c.endswith("concat=range(1, 5))")
               for c in cells), cells
    assert all(0 <= a <= 1 for a in f["darts/epochs/val_accuracy"][:])
PY
check "darts --space rnn: alpha_recurrent and recurrent cells in the run file" [ $? -eq 0 ]
train "${TRAIN[@]}" --from rnn.h5 --out rnn-cell.h5 >rnn-cell.log 2>&1
check "train of the cell darts derived exits 0" [ $? -eq 0 ]
check "train of the cell darts derived: test accuracy" \
  grep -qE "^\[hpcnas\] test accuracy 0\.[0-9]+" rnn-cell.log
refused_darts() {  # refused_darts NAME MESSAGE ARGS...
  local name=$1 message=$2; shift 2
  darts "$@" --out refused.h5 >out.txt 2>err.txt
  check "$name exits 2" [ $? -eq 2 ]
  check "$name: one line" [ "$(grep -c -- "$message" err.txt)" -eq 1 ]
}
refused_darts "darts on texts without --space rnn" "holds texts: search a recurrent cell" \
  --dataset text-folder --data-dir corpus
refused_darts "darts --space rnn on images" "--space rnn searches a recurrent cell for texts" \
  --space rnn --dataset synthetic
refused_darts "darts --space rnn with partial channels" "--partial-channels applies to image" \
  "${DARTS[@]}" --partial-channels 2 --channels 4

if [ -d /usr/share/datasets/spamassassin ]; then
  search --dataset spamassassin --max-tokens 32 --embedding 16 --hidden 16 --epochs 1 \
    --lr 0.5 --budget 2 --out spam.h5 >spam.log 2>&1
  check "spamassassin search exits 0" [ $? -eq 0 ]
  check "spamassassin: 2 rows" [ "$(rows spam.h5)" -eq 2 ]
else
  echo "not checked: no SpamAssassin corpus in /usr/share/datasets/spamassassin"
fi
finish
