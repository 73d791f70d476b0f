#!/usr/bin/env bash
# Installs what is missing, builds, and runs every unit, MPI and command-line test with ctest;
# then, unless ctest was given arguments, the unit and MPI tests again under ASan and UBSan.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# The SLURM tests start a one-host SLURM; the scaling plots need matplotlib; the fuzz targets
# (replayed over their corpus) need clang and libFuzzer.
hpcnas_install slurm-wlm munge python3-matplotlib clang libclang-rt-14-dev
hpcnas_build
cd "$HPCNAS_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
[ $# -gt 0 ] || "$HPCNAS_ROOT/scripts/sanitize.sh"
