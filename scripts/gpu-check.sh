#!/usr/bin/env bash
# Builds hpcnas with the NCCL collective (HPCNAS_WITH_NCCL) and runs the GPU
# checks, on a machine with CUDA, NCCL, a CUDA LibTorch and at least one GPU:
#   0. everything the steps need is there (checked first: GPU time is scarce);
#   1. configure reports "NCCL backend ON" (else it stops: the CPU build needs no GPU check);
#   2. the unit tests of this build (the MPI, SLURM and CLI tests are CPU-only and run in CI);
#   3. the NCCL collective at 2 ranks: an allreduce of a device buffer (a small program built
#      on the fly against the library);
#   4. `hpcnas bench --what supernet --device cuda` (the step times for README);
#   5. `hpcnas darts --device cuda` on 2 ranks over NCCL against the same search on CPUs over MPI:
#      both finish, and alpha after 20 steps agrees within 1e-3 (float32 on different kernels:
#      not bit for bit; Adam moves alpha about 3e-4 per step).
# Usage: scripts/gpu-check.sh [build-dir]
#   TORCH_DIR: a CUDA LibTorch's CMake folder (e.g. a Python wheel's torch.utils.cmake_prefix_path
#   + /Torch); NCCL_HOME: the folder with include/nccl.h and lib/libnccl.so; CUDAToolkit_ROOT
#   when CMake cannot find the CUDA toolkit by itself.
set -euo pipefail
source "$(dirname "$0")/env.sh"
BUILD=${1:-$HPCNAS_ROOT/build-gpu}
command -v nvidia-smi >/dev/null || { echo "gpu-check: no nvidia-smi: not a GPU machine" >&2; exit 1; }
nvidia-smi -L
missing=()
for tool in cmake mpicxx mpirun; do command -v $tool >/dev/null || missing+=("$tool"); done
python3 -c "import h5py, numpy" 2>/dev/null || missing+=("python3 h5py and numpy")
[ ${#missing[@]} -eq 0 ] || { echo "gpu-check: missing: ${missing[*]}" >&2; exit 1; }
extra=()
[ -n "${TORCH_DIR:-}" ] && extra+=(-DTorch_DIR="$TORCH_DIR")
cmake -S "$HPCNAS_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHPCNAS_WITH_NCCL=ON "${extra[@]}" \
  | tee "$BUILD.configure.log"
grep -q "NCCL backend ON" "$BUILD.configure.log" || {
  echo "gpu-check: CMake did not find CUDA and NCCL (see $BUILD.configure.log)" >&2; exit 1; }
cmake --build "$BUILD" -j"$(nproc)"
(cd "$BUILD" && ctest --output-on-failure -L unit -j"$(nproc)")

cat > "$BUILD/nccl_check.cpp" <<'CPP'
#include <cuda_runtime.h>
#include <mpi.h>
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
    std::printf("rank %d: nccl allreduce of %zu floats %s\n", c->rank(), n, failed ? "WRONG" : "ok");
    cudaFree(device);
  }
  MPI_Finalize();
  return failed;
}
CPP
mpicxx -std=c++17 -I"$HPCNAS_ROOT/include" "$BUILD/nccl_check.cpp" "$BUILD/libhpcnas_comm.a" \
  -lnccl -lcudart -o "$BUILD/nccl_check"
mpirun -n 2 --oversubscribe "$BUILD/nccl_check"

for batch in 16 64; do
  "$BUILD/hpcnas" bench --what supernet --device cuda --batch-size $batch --input 3x32x32 \
    --steps 10 --warmup 3
done
search=(darts --dataset synthetic --val-size 256 --epochs 2 --steps-per-epoch 10 --batch-size 32
        --overwrite)
mpirun -n 2 --oversubscribe "$BUILD/hpcnas" "${search[@]}" --device cuda --out "$BUILD/gpu.h5"
mpirun -n 2 --oversubscribe "$BUILD/hpcnas" "${search[@]}" --device cpu --out "$BUILD/cpu.h5"
python3 - "$BUILD/gpu.h5" "$BUILD/cpu.h5" <<'PY'
import sys
import h5py, numpy as np
gpu, cpu = (h5py.File(p, "r")["darts"] for p in sys.argv[1:])
for name in ("alpha_normal", "alpha_reduce"):
    diff = float(np.abs(gpu[name][:] - cpu[name][:]).max())
    print(f"gpu-check: {name}: largest |GPU - CPU| after 2 epochs = {diff:.2e}")
    assert diff < 1e-3, name
PY
echo "gpu-check: ok"
