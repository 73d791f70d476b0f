#!/usr/bin/env bash
# Builds the project with AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/ and
# runs the unit and MPI tests there, not the command-line ones (extra ctest arguments are passed
# on).
# Leaks the libraries below us keep are suppressed (tests/sanitize/lsan.supp).
set -euo pipefail
source "$(dirname "$0")/env.sh"
hpcnas_install
HPCNAS_BUILD=$HPCNAS_ROOT/build-sanitize
CMAKE_BUILD_TYPE=RelWithDebInfo hpcnas_build -DHPCNAS_SANITIZE=ON
export LSAN_OPTIONS=suppressions=$HPCNAS_ROOT/tests/sanitize/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$HPCNAS_BUILD"
# Leaks are checked in the unit tests only: Open MPI unloads its plugins in MPI_Finalize, and
# what they kept is then reported from an unknown module, which no suppression can name.
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 ctest --output-on-failure -j "$(nproc)" -L unit "$@"
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 ctest --output-on-failure -j "$(nproc)" -L mpi \
  -LE "cli|unit" "$@"
