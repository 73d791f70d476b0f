#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) and runs each for SECONDS.
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS: time per target (default 600); 0 runs each target once over its committed corpus.
#   TARGET: genotype, recurrent, config, idx, cifar, mail, checkpoint, run_file (default: all).
# New inputs go to build-fuzz/corpus/TARGET; a crash, leak or timeout leaves its input in
# build-fuzz/ and exits non-zero: keep it in tests/fuzz/corpus/ with the fix.
set -euo pipefail
source "$(dirname "$0")/env.sh"
SECONDS_PER_TARGET=${1:-600}
shift || true
BUILD=${HPCNAS_FUZZ_BUILD:-$HPCNAS_ROOT/build-fuzz}
cmake -S "$HPCNAS_ROOT/tests/fuzz" -B "$BUILD" -DCMAKE_C_COMPILER="${CC:-clang}" \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
# Leaks inside Debian's HDF5 on damaged files are not ours to fix (see the file).
export LSAN_OPTIONS=suppressions=$HPCNAS_ROOT/tests/fuzz/lsan.supp:print_suppressions=0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(genotype recurrent config idx cifar mail checkpoint run_file)
for target in "${targets[@]}"; do
  seeds=$HPCNAS_ROOT/tests/fuzz/corpus/$target
  if [ "$SECONDS_PER_TARGET" -eq 0 ]; then
    echo "fuzz_$target: every input of $seeds once"
    "$BUILD/fuzz_$target" -runs=0 -artifact_prefix="$BUILD/" "$seeds"
  else
    mkdir -p "$BUILD/corpus/$target"
    echo "fuzz_$target: $SECONDS_PER_TARGET s"
    (cd "$BUILD" && "./fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$BUILD/" "corpus/$target" "$seeds")
  fi
done
