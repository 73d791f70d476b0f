#!/usr/bin/env bash
# Builds the project with AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/ and
# runs the unit and MPI tests there (extra ctest arguments are passed on).
# Leaks are reported except those of the libraries below us (tests/sanitize/lsan.supp).
set -euo pipefail
source "$(dirname "$0")/env.sh"
hpcnas_install
HPCNAS_BUILD=$HPCNAS_ROOT/build-sanitize
CMAKE_BUILD_TYPE=RelWithDebInfo hpcnas_build -DHPCNAS_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export LSAN_OPTIONS=suppressions=$HPCNAS_ROOT/tests/sanitize/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$HPCNAS_BUILD"
ctest --output-on-failure -j "$(nproc)" -L "unit|mpi" "$@"
