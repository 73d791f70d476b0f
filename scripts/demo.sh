#!/usr/bin/env bash
# Installs what is missing, builds (Release), and runs a real small random search on
# Fashion-MNIST with 3 ranks: rank 0 controls, ranks 1 and 2 train one thread each.
set -euo pipefail
source "$(dirname "$0")/env.sh"
hpcnas_install
hpcnas_build
OUT=${OUT:-$PWD/demo-run.h5}
mpirun -n 3 --oversubscribe "$HPCNAS_BUILD/hpcnas" search --strategy random \
  --dataset fashion-mnist --val-size 10000 --train-subset 6000 --val-subset 2000 \
  --channels 8 --layers 5 --epochs 1 --batch-size 64 --threads 1 \
  --budget 16 --seed 1 --out "$OUT" --overwrite
