#!/usr/bin/env bash
# Builds hpcnas with the NCCL collective (HPCNAS_WITH_NCCL) and runs the GPU
# checks, on a machine with CUDA, NCCL, a CUDA LibTorch and at least one GPU:
#   0. everything the steps need is there (checked first: GPU time is scarce);
#   1. configure reports "NCCL backend ON" (else it stops: the CPU build needs no GPU check);
#   2. the unit tests of this build (the MPI, SLURM and CLI tests are CPU-only and run in CI);
#   3. the NCCL collective: an allreduce of a device buffer (a small program built on the fly
#      against the library), timed;
#   4. `hpcnas bench --what supernet --device cuda` beside the PyTorch peer on the same GPU;
#   5. `hpcnas darts --device cuda` over NCCL against the same search on CPUs over MPI: both
#      finish, and alpha after 20 steps agrees within 1e-3 (float32 on different kernels: not
#      bit for bit; Adam moves alpha about 3e-4 per step);
#   6. `hpcnas train --device cuda`: a short final training on the GPU, exported to ONNX.
# The NCCL steps run on 2 ranks where the machine has 2 GPUs or more, else on 1 (NCCL binds one
# rank per GPU).
# Usage: scripts/gpu-check.sh [build-dir]
#   TORCH_DIR: a CUDA LibTorch's CMake folder (e.g. a Python wheel's torch.utils.cmake_prefix_path
#   + /Torch); NCCL_HOME: the folder with include/nccl.h and lib/libnccl.so; CUDAToolkit_ROOT
#   when CMake cannot find the CUDA toolkit by itself; HPCNAS_CMAKE_ARGS: more configure arguments
#   (e.g. -DHPCNAS_BUILD_TESTS=OFF where no Catch2 2 is installed: the unit tests then don't run).
set -euo pipefail
source "$(dirname "$0")/env.sh"
BUILD=${1:-$HPCNAS_ROOT/build-gpu}
command -v nvidia-smi >/dev/null || { echo "gpu-check: no nvidia-smi: not a GPU machine" >&2; exit 1; }
nvidia-smi -L
missing=()
for tool in cmake mpicxx mpirun; do command -v $tool >/dev/null || missing+=("$tool"); done
python3 -c "import h5py, numpy" 2>/dev/null || missing+=("python3 h5py and numpy")
[ ${#missing[@]} -eq 0 ] || { echo "gpu-check: missing: ${missing[*]}" >&2; exit 1; }
gpus=$(nvidia-smi -L | grep -c '^GPU')
ranks=$(( gpus >= 2 ? 2 : 1 ))
extra=()
[ -n "${TORCH_DIR:-}" ] && extra+=(-DTorch_DIR="$TORCH_DIR")
# shellcheck disable=SC2206 # word splitting is the point: several arguments in one variable
extra+=(${HPCNAS_CMAKE_ARGS:-})
cmake -S "$HPCNAS_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHPCNAS_WITH_NCCL=ON "${extra[@]}" \
  | tee "$BUILD.configure.log"
grep -q "NCCL backend ON" "$BUILD.configure.log" || {
  echo "gpu-check: CMake did not find CUDA and NCCL (see $BUILD.configure.log)" >&2; exit 1; }
cmake --build "$BUILD" -j"$(nproc)"
if [ -n "$(cd "$BUILD" && ctest -N -L unit | grep 'Test *#')" ]; then
  (cd "$BUILD" && ctest --output-on-failure -L unit -j"$(nproc)")
else
  echo "gpu-check: the unit tests were not built (HPCNAS_BUILD_TESTS=OFF): skipped"
fi
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
nccl_library=$(cache NCCL_LIBRARY)
cuda_home=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc)")")}

cat > "$BUILD/nccl_check.cpp" <<'CPP'
#include <cuda_runtime.h>
#include <mpi.h>
#include <chrono>
#include <cstdio>
#include <vector>
#include "hpcnas/comm/collective.hpp"
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int failed = 0;
  {
    auto c = hpcnas::comm::make_nccl_collective();
    const std::size_t n = 1 << 20;
    std::vector<float> host(n, static_cast<float>(c->rank() + 1));
    float* device = nullptr;
    cudaMalloc(&device, n * sizeof(float));
    cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice);
    c->allreduce_sum(device, n, hpcnas::comm::DataType::kFloat32);
    cudaMemcpy(host.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost);
    const float expected = c->size() * (c->size() + 1) / 2.0f;
    for (float v : host) failed |= v != expected;
    const int repeats = 100;  // then the time of one allreduce of 4 MB, the kernels waited for
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) c->allreduce_sum(device, n, hpcnas::comm::DataType::kFloat32);
    cudaDeviceSynchronize();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("rank %d of %d: nccl allreduce of %zu floats %s, %.1f us each\n", c->rank(),
                c->size(), n, failed ? "WRONG" : "ok", 1e6 * took.count() / repeats);
    cudaFree(device);
  }
  MPI_Finalize();
  return failed;
}
CPP
mpicxx -std=c++17 -I"$HPCNAS_ROOT/include" -I"$cuda_home/include" "$BUILD/nccl_check.cpp" \
  "$BUILD/libhpcnas_comm.a" "$nccl_library" -L"$cuda_home/lib64" -lcudart \
  -Wl,-rpath,"$(dirname "$nccl_library")":"$cuda_home/lib64" -o "$BUILD/nccl_check"
mpirun -n $ranks --oversubscribe "$BUILD/nccl_check"

for batch in 16 64; do
  "$BUILD/hpcnas" bench --what supernet --device cuda --batch-size $batch --input 3x32x32 \
    --steps 10 --warmup 3
  python3 "$HPCNAS_ROOT/bench/torch_peer.py" --mode supernet --device cuda --batch $batch \
    --input 3x32x32 --steps 10
done
search=(darts --dataset synthetic --val-size 256 --epochs 2 --steps-per-epoch 10 --batch-size 32
        --overwrite)
# TF32 off for the comparison: cuDNN's default on Ampere and later computes convolutions with a
# 10-bit mantissa (with it on, an H200 measured a largest difference of 3.4e-3 after 20 steps).
NVIDIA_TF32_OVERRIDE=0 mpirun -n $ranks --oversubscribe -x NVIDIA_TF32_OVERRIDE "$BUILD/hpcnas" \
  "${search[@]}" --device cuda --out "$BUILD/gpu.h5"
mpirun -n $ranks --oversubscribe "$BUILD/hpcnas" "${search[@]}" --device cpu --out "$BUILD/cpu.h5"
failed=()  # the remaining steps still run after a failed comparison: GPU time is scarce
python3 - "$BUILD/gpu.h5" "$BUILD/cpu.h5" <<'PY' || failed+=("alpha GPU vs CPU")
import sys
import h5py, numpy as np
gpu, cpu = (h5py.File(p, "r")["darts"] for p in sys.argv[1:])
for name in ("alpha_normal", "alpha_reduce"):
    diff = float(np.abs(gpu[name][:] - cpu[name][:]).max())
    print(f"gpu-check: {name}: largest |GPU - CPU| after 2 epochs = {diff:.2e}")
    assert diff < 1e-3, name
PY
mpirun -n $ranks --oversubscribe "$BUILD/hpcnas" train --from "$BUILD/gpu.h5" --dataset synthetic \
  --epochs 2 --steps-per-epoch 20 --batch-size 64 --device cuda --overwrite \
  --out "$BUILD/train-gpu.h5" --export "$BUILD/train-gpu.onnx" || failed+=("train --device cuda")
[ ${#failed[@]} -eq 0 ] || { echo "gpu-check: failed: ${failed[*]}" >&2; exit 1; }
echo "gpu-check: ok"
