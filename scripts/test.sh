#!/usr/bin/env bash
# Installs what is missing, builds, and runs every unit, MPI and command-line test with ctest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
hpcnas_install slurm-wlm munge  # the SLURM test starts a one-host SLURM
hpcnas_build
cd "$HPCNAS_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
