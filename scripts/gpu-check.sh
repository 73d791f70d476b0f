#!/usr/bin/env bash
# Builds hpcnas with the NCCL collective (HPCNAS_WITH_CUDA, HPCNAS_WITH_NCCL) and runs the GPU
# checks, on a machine with CUDA, NCCL, a CUDA LibTorch and at least one GPU:
#   1. configure reports "NCCL backend ON" (else it stops: the CPU build needs no GPU check);
#   2. the unit and MPI tests of the build;
#   3. the NCCL collective at 2 ranks: an allreduce and a broadcast of a device buffer
#      (tests/gpu/nccl_check.cpp is built on the fly against the library).
# Usage: scripts/gpu-check.sh [build-dir]     (TORCH_DIR may point at a CUDA LibTorch)
set -euo pipefail
source "$(dirname "$0")/env.sh"
BUILD=${1:-$HPCNAS_ROOT/build-gpu}
command -v nvidia-smi >/dev/null || { echo "gpu-check: no nvidia-smi: not a GPU machine" >&2; exit 1; }
nvidia-smi -L
extra=()
[ -n "${TORCH_DIR:-}" ] && extra+=(-DTorch_DIR="$TORCH_DIR")
cmake -S "$HPCNAS_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHPCNAS_WITH_CUDA=ON \
  -DHPCNAS_WITH_NCCL=ON "${extra[@]}" | tee "$BUILD.configure.log"
grep -q "NCCL backend ON" "$BUILD.configure.log" || {
  echo "gpu-check: CMake did not find CUDA and NCCL (see $BUILD.configure.log)" >&2; exit 1; }
cmake --build "$BUILD" -j"$(nproc)"
(cd "$BUILD" && ctest --output-on-failure -L "unit|mpi")

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
echo "gpu-check: ok"
