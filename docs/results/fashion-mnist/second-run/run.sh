#!/bin/bash
# Second final training of the Fashion-MNIST result: the first run's search (../search.h5),
# lighter regularisation (no cutout, no drop-path) and 34 epochs. Started with
#   mpirun -n 2 --oversubscribe hpcnas train --from ../search.h5 --dataset fashion-mnist \
#     --channels 16 --layers 8 --epochs 34 --batch-size 96 --lr 0.05 --cutout 0 \
#     --crop-padding 2 --drop-path 0 --auxiliary-weight 0.4 --threads 1 --seed 1 \
#     --checkpoint-seconds 600 --out final.h5 --export model.onnx
# This continues it from its checkpoint (build first: scripts/demo.sh or scripts/test.sh).
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpirun -n 2 --oversubscribe ../../../../build/hpcnas train --resume final.h5 \
  --export model.onnx >> train.log 2>&1
