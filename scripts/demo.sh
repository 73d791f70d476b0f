#!/usr/bin/env bash
# Installs what is missing, builds (Release), runs a real small random search on Fashion-MNIST
# with 3 ranks (rank 0 controls, ranks 1 and 2 train one thread each), then trains the best
# genotype it found for a few minutes on 2 ranks, tests it and exports it to ONNX.
set -euo pipefail
source "$(dirname "$0")/env.sh"
hpcnas_install
hpcnas_build
OUT=${OUT:-$PWD/demo-run.h5}
FINAL=${FINAL:-$PWD/demo-final.h5}
MODEL=${MODEL:-$PWD/demo-model.onnx}
mpirun -n 3 --oversubscribe "$HPCNAS_BUILD/hpcnas" search --strategy random \
  --dataset fashion-mnist --val-size 10000 --train-subset 6000 --val-subset 2000 \
  --channels 8 --layers 5 --epochs 1 --batch-size 64 --threads 1 \
  --budget 16 --seed 1 --out "$OUT" --overwrite
mpirun -n 2 --oversubscribe "$HPCNAS_BUILD/hpcnas" train --from "$OUT" \
  --dataset fashion-mnist --train-subset 20000 --channels 8 --layers 5 --epochs 3 \
  --batch-size 96 --lr 0.05 --cutout 8 --crop-padding 2 --drop-path 0.1 --threads 1 \
  --seed 1 --out "$FINAL" --export "$MODEL" --overwrite
