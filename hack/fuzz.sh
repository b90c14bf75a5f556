#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan, UBSan) in
# build-fuzz and runs each for FUZZ_SECONDS on a copy of its seed corpus, two
# at a time. Fails when any target crashes (or leaks, times out, runs out of
# memory); the input that did it is kept under build-fuzz/fuzz-work/<target>/.
# The same tree also builds the tests and the operator with ASan and UBSan
# (hack/test.sh runs them), so it is configured with the tests on.
#
#   hack/fuzz.sh                        # every target, 60 s each
#   FUZZ_SECONDS=300 hack/fuzz.sh redactor sse_stream
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-2}"
BUILD_DIR="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
CXX_FUZZ="${CXX_FUZZ:-clang++-14}"

bash hack/install-deps.sh

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_FUZZ" \
  -DOPSCOPILOT_FUZZ=ON -DOPSCOPILOT_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" --target fuzz_targets -j "$(nproc)"

if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" _fuzz.cpp)"); done
fi

WORK="$BUILD_DIR/fuzz-work"
rm -rf "$WORK"
mkdir -p "$WORK"

# One target: a fresh copy of the seed corpus, grown in place; the log and
# any crashing input stay in $WORK/<target>.
run_one() {
  local t="$1" dir="$WORK/$1"
  mkdir -p "$dir/corpus"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null || true
  local rc=0
  (cd "$dir" && ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1" \
    "$BUILD_DIR/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/" corpus >"$dir/log" 2>&1) || rc=$?
  echo "$rc" >"$dir/rc"
}

running=0
for t in "${targets[@]}"; do
  [ -x "$BUILD_DIR/tests/fuzz/fuzz_$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  echo "fuzz: $t for ${SECONDS_EACH}s"
  run_one "$t" &
  running=$((running + 1))
  if ((running >= JOBS)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
printf '\n%-18s %12s %8s %8s %8s\n' target runs corpus crashes seconds
for t in "${targets[@]}"; do
  dir="$WORK/$t"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/log" | tail -1)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  crashes=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  rc=$(cat "$dir/rc")
  if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then crashes=1; fi
  printf '%-18s %12s %8s %8s %8s\n' "$t" "${runs:-?}" "$corpus" "$crashes" "${secs:-?}"
  if [ "$crashes" != 0 ]; then
    failed=1
    echo "--- $t (exit $rc): last lines of $dir/log" >&2
    tail -40 "$dir/log" >&2
  fi
done
if [ "$failed" != 0 ]; then
  echo "FAIL fuzz: crashes above; inputs under $WORK" >&2
  exit 1
fi
echo "PASS fuzz: ${#targets[@]} targets, ${SECONDS_EACH}s each, no crash"
